"""No kind of background work starves another: the scenario of `manage.py bench_queues` and of its smaller test.

It runs `make run`'s own process set (scripts/run.sh: web, simulator, one worker per queue, beat) on the
configured PostgreSQL and Redis, and measures while a big paced import runs and thousands of sends are queued:
(a) how long a payment webhook's credit takes to land on the account;
(b) how soon a second, small paced import starts (leaves "waiting in the queue") and how long it takes to finish;
(c) when the overdue check runs (beat, every minute, on the `default` queue).

Steps:
1. start scripts/run.sh and wait until the web answers and a worker of each queue replies to a ping;
2. queue `comms_tasks` sends (rows in the communication log, one `comms.message_send` task each);
3. upload the big import (`import_rows` rows at `rate` rows/s: its chunks are scheduled, holding no worker);
4. for `seconds`: every few seconds, create a newly overdue CRM task (the overdue check's runs stamp them) and post a
   signed sandbox webhook for a fresh deposit, timing until the account's balance has moved; after a few seconds
   upload the second import (60 rows at `rate`) and follow it to the end;
5. cancel the big import, stop run.sh like Ctrl-C does, and return the figures (with the stop's duration).
Needs the demo data (customers, an admin) and DEBUG (the sandbox payment provider).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from itertools import pairwise
from pathlib import Path

import httpx
from django.conf import settings
from django.utils import timezone

from brokercrm.actors import SYSTEM
from brokercrm.celery import QUEUES, app
from comms.models import Message
from crm.models import Task
from crm.services import task_create
from customers.models import Customer
from devtools.testing import free_port
from imports.models import ImportJob
from imports.services import import_create
from ledger import conf as ledger_conf
from ledger.models import TradingAccount, Transaction
from ledger.payments import order_id_for
from ledger.providers.sandbox import sign
from ledger.services import transaction_create
from teams.models import User

ROOT = Path(settings.BASE_DIR)
BENCH_TASK_TITLE = "queue-bench overdue probe"


@dataclass
class Figures:
    webhook_credit_s: list[float] = field(default_factory=list)
    second_import_start_s: float | None = None
    second_import_total_s: float | None = None
    second_import_status: str = ""
    overdue_runs: list = field(default_factory=list)
    big_import_rows_per_s: float = 0.0
    comms_queued_at_start: int = 0
    comms_queued_at_end: int = 0
    stop_s: float | None = None

    @property
    def overdue_intervals_s(self) -> list[float]:
        runs = sorted(self.overdue_runs)
        return [round((b - a).total_seconds(), 1) for a, b in pairwise(runs)]

    def lines(self) -> list[str]:
        credit = self.webhook_credit_s
        return [
            f"comms queue: {self.comms_queued_at_start:,} tasks waiting at the start, "
            f"{self.comms_queued_at_end:,} at the end",
            f"big import: {self.big_import_rows_per_s:.2f} rows/s during the window",
            f"(a) webhook credit landed in max {max(credit):.3f}s, mean {sum(credit) / len(credit):.3f}s "
            f"over {len(credit)} webhooks (target < 1 s)" if credit else "(a) no webhook measured",
            f"(b) second import (60 rows at 10/s): started after {self.second_import_start_s:.2f}s (target < 2 s), "
            f"{self.second_import_status} after {self.second_import_total_s:.2f}s (target 6 ± 1 s)"
            if self.second_import_total_s is not None else f"(b) second import: {self.second_import_status}",
            f"(c) overdue check ran {len(self.overdue_runs)} times, intervals {self.overdue_intervals_s} s "
            f"(target every 60 s)",
            f"clean stop (TERM to run.sh, like Ctrl-C): every process gone after {self.stop_s:.1f}s"
            if self.stop_s is not None else "clean stop: not measured",
        ]


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if fields[0] != "Z":
                children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def comms_backlog() -> int:
    """Messages waiting in the `comms` queue (every priority level)."""
    with app.connection_for_read() as conn:
        return conn.default_channel.queue_declare("comms", passive=True).message_count


def queue_sends(count: int) -> int:
    """Queue `count` e-mails to demo customers: rows in the communication log and one send task each."""
    customers = list(Customer.objects.exclude(email="").order_by("pk")[:200])
    now = timezone.now()
    messages = Message.objects.bulk_create([
        Message(customer=c, channel=Message.Channel.EMAIL, template_name="queue-bench", locale="en",
                recipient=c.email, subject="Queue bench", body="Hello", body_html="<p>Hello</p>", created_at=now)
        for c in (customers[i % len(customers)] for i in range(count))], batch_size=2000)
    with app.producer_or_acquire() as producer:
        for message in messages:
            app.send_task("comms.message_send", kwargs={"message_id": message.pk}, producer=producer)
    return len(messages)


def _lead_csv(rows: int, tag: str) -> bytes:
    lines = ["email,phone,first_name,last_name,country"]
    lines += [f"{tag}.{i}@example.org,+4477{i:08d},Lead{i},Bench,GB" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def _deposit(customer):
    account = customer.accounts.order_by("login").first()
    tx, _ = transaction_create(by=SYSTEM, type="deposit", amount=Decimal("10.00"), currency=account.currency,
                               account_login=account.login, comment="queue bench", status="processing")
    Transaction.objects.filter(pk=tx.pk).update(provider="sandbox")
    return account, tx


def webhook_credit_seconds(base_url: str, customer) -> float:
    """Post a signed sandbox 'approved' callback for a fresh deposit; seconds until the balance has moved."""
    account, tx = _deposit(customer)
    before = account.balance
    body = json.dumps({"event_id": str(uuid.uuid4()), "order_id": order_id_for(tx), "status": "approved",
                       "amount": str(tx.amount), "currency": tx.currency}).encode()
    headers = {"Content-Type": "application/json", "X-Sandbox-Signature": sign(body, ledger_conf.SANDBOX_SECRET)}
    t0 = time.monotonic()
    response = httpx.post(f"{base_url}/api/payments/webhooks/sandbox", content=body, headers=headers, timeout=30)
    response.raise_for_status()
    # The credit commits before the answer; should it ever move to a task, this waits for it instead.
    while TradingAccount.objects.get(pk=account.pk).balance == before:
        if time.monotonic() - t0 > 30:
            raise RuntimeError("the webhook's credit never landed")
        time.sleep(0.02)
    return time.monotonic() - t0


def run_sh_env(base: dict[str, str], var_dir: Path) -> dict[str, str]:
    env = dict(base)
    # The processes keep their files in `var_dir`; the sandbox secret is this process's, so that the webhooks it
    # signs are accepted (development generates one per var directory).
    env.update(BROKERCRM_VAR_DIR=str(var_dir), DEBUG="true", PYTHONUNBUFFERED="1",
               SANDBOX_PAYMENTS_SECRET=ledger_conf.SANDBOX_SECRET)
    return env


def run_sh_start(env: dict[str, str], log) -> tuple[subprocess.Popen, str]:
    """`scripts/run.sh` (web, workers, beat) on a free port in a session of its own, its output to `log`; returns the
    process and its base URL. The caller stops it (SIGTERM is run.sh's Ctrl-C path)."""
    port = free_port()
    proc = subprocess.Popen(["scripts/run.sh", str(port)], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    return proc, f"http://127.0.0.1:{port}"


def run_sh_wait(proc: subprocess.Popen, base_url: str, log_path: Path, timeout: float = 90.0) -> None:
    """Until the web process answers /api/health; RuntimeError when run.sh exits first or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{base_url}/api/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"scripts/run.sh did not start; see {log_path}")
        time.sleep(0.3)


def wait_for_workers(timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        names = {name.split("@")[0] for reply in (app.control.ping(timeout=1.0) or []) for name in reply}
        if set(QUEUES) <= names:
            return
        time.sleep(0.5)
    raise RuntimeError("the workers of scripts/run.sh did not answer")


def run(*, env: dict[str, str], log_path: Path, import_rows: int, comms_tasks: int, seconds: float,
        rate: int = 10, second_after: float = 8.0, probe_every: float = 10.0, echo=print) -> Figures:
    """Run the scenario (module docstring) and return its figures."""

    figures = Figures()
    admin = (User.objects.filter(email="admin@demo.test").first()
             or User.objects.filter(is_superuser=True).order_by("pk").first())
    customer = Customer.objects.filter(accounts__isnull=False).order_by("pk").first()
    if admin is None or customer is None:
        raise RuntimeError("needs the demo data (seed_demo)")
    app.control.purge()
    log = open(log_path, "w")  # noqa: SIM115 (the children write to it; closed in the `finally` below)
    proc, base_url = run_sh_start(env, log)
    big = None
    try:
        run_sh_wait(proc, base_url, log_path)
        wait_for_workers()
        webhook_credit_seconds(base_url, customer)  # warm-up: the web process's first request loads the code
        echo(f"run.sh is up (web, simulator, workers for default/comms/imports, beat); queueing {comms_tasks:,} sends")
        queue_sends(comms_tasks)
        figures.comms_queued_at_start = comms_backlog()
        tag = f"qb{int(time.time())}"
        big = import_create(by=admin, raw=_lead_csv(import_rows, f"{tag}.big"), file_name="big.csv",
                            rate_per_second=rate)
        echo(f"uploaded a {import_rows:,}-row import at {rate}/s; measuring for {seconds:.0f}s")
        assert ImportJob.objects.filter(pk=big.pk).exists()
        t_start = time.monotonic()
        while ImportJob.objects.get(pk=big.pk).processed_rows == 0 and time.monotonic() - t_start < 30:
            time.sleep(0.2)
        big_rows0, big_t0 = ImportJob.objects.get(pk=big.pk).processed_rows, time.monotonic()
        second = None
        next_probe = time.monotonic()
        while time.monotonic() - big_t0 < seconds or (second and second.status in ("pending", "running")):
            now = time.monotonic()
            if now >= next_probe and now - big_t0 < seconds:
                task_create(customer=customer, title=BENCH_TASK_TITLE, due_at=timezone.now() - timedelta(minutes=1),
                            by=SYSTEM)
                figures.webhook_credit_s.append(webhook_credit_seconds(base_url, customer))
                next_probe = now + probe_every
            if second is None and now - big_t0 >= second_after:
                second = import_create(by=admin, raw=_lead_csv(60, f"{tag}.second"), file_name="second.csv",
                                       rate_per_second=rate)
            if second is not None:
                second = ImportJob.objects.get(pk=second.pk)
                if second.status in ("completed", "failed", "cancelled") and figures.second_import_total_s is None:
                    figures.second_import_start_s = (second.started_at - second.created_at).total_seconds()
                    figures.second_import_total_s = (second.finished_at - second.created_at).total_seconds()
                    figures.second_import_status = second.status
                if time.monotonic() - big_t0 > seconds + 60:
                    figures.second_import_status = f"still {second.status} after the window"
                    break
            time.sleep(0.05)
        job = ImportJob.objects.get(pk=big.pk)
        figures.big_import_rows_per_s = (job.processed_rows - big_rows0) / (time.monotonic() - big_t0)
        figures.comms_queued_at_end = comms_backlog()
        figures.overdue_runs = sorted(set(Task.objects.filter(title=BENCH_TASK_TITLE, overdue_notified_at__isnull=False)
                                          .values_list("overdue_notified_at", flat=True)))
    finally:
        if big is not None:
            ImportJob.objects.filter(pk=big.pk, status__in=["pending", "running"]).update(status="cancelled")
        tree = _descendants(proc.pid) | {proc.pid}
        t0 = time.monotonic()
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)  # run.sh's Ctrl-C path: TERM to each process, KILL after its grace
        while any(_alive(pid) for pid in tree) and time.monotonic() - t0 < 30:
            time.sleep(0.1)
        figures.stop_s = time.monotonic() - t0
        for pid in tree:
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
        log.close()
    return figures
