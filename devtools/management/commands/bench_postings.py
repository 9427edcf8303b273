"""Ledger postings per second through the API with N client processes, beside a plain DRF view in the same run.

    python manage.py bench_postings --yes [--clients 2 --seconds 20 --workers 2]

Starts uvicorn (`--workers` processes, the product's ASGI stack plus devtools.bench_urls' anchor) on a scratch
PostgreSQL database, then N client processes (keep-alive HTTP, staff token) post deposits and fees as fast as they
can to `POST /api/backoffice/transactions` for `--seconds`: each posting authenticates, checks scope and amounts,
locks the account, inserts the transaction, writes its two ledger lines, moves the balance and records its
activity and event. Two anchors, each for a quarter of the time with the same clients: a plain DRF view (same
middleware and token authentication, no work), and a bare ASGI responder without Django (devtools.bench_asgi: what
HTTP alone costs here, the ceiling of any endpoint). Then `verify_ledger` and the SQL statements of one posting.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import secrets
import socket
import time

import httpx
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, connections
from django.test import override_settings

from customers.models import Customer
from ledger.models import TradingAccount
from ledger.services import account_open, ledger_verify, transaction_create
from teams.models import Role, User
from teams.tokens import token_issue

PATH = "/api/backoffice/transactions"


def _connect(host: str, port: int, worker: int | None) -> http.client.HTTPConnection:
    """A keep-alive connection, served by `worker` (a uvicorn worker's pid) when one is given. The workers share
    one listening socket and whichever accepts first serves the connection for good: with one connection per client
    both clients' connections landed on the same worker in about half the runs, which then ran on one core while
    the other idled (the machine 60 % busy, half the postings). So a client reconnects until it reaches its own."""
    for _ in range(200):
        conn = http.client.HTTPConnection(host, port, timeout=30)
        conn.connect()
        # TCP_NODELAY: a request's head and body may go out in two writes; with Nagle on, the second waits for the
        # server's delayed ACK (~40 ms per request on Linux), which would measure the client, not the server.
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if worker is None:
            return conn
        conn.request("GET", "/bench/worker")
        response = conn.getresponse()
        if response.read().decode() == str(worker):
            return conn
        conn.close()
    raise RuntimeError(f"no connection reached worker {worker}")


def _client(n, clients, base, key, logins, start, stop, counts, errors, anchor, worker=None):
    """One client process: one keep-alive HTTP/1.1 connection (to its own uvicorn worker), postings (or an
    anchor's requests) until `stop`.

    The standard library's http.client, not httpx: the clients share the machine's cores with the server, and
    httpx spent several milliseconds of CPU per request here, which capped even a bare ASGI responder near 220
    requests/s (the client measured itself)."""
    headers = {"Authorization": f"Token {key}", "Content-Type": "application/json"}
    host, port = base.removeprefix("http://").split(":")
    conn = _connect(host, int(port), worker)
    while time.time() < start:
        time.sleep(0.005)
    i = n
    try:
        while time.time() < stop:
            if anchor:
                path, body = anchor, b"{}"
            else:
                kind = "deposit" if i % 3 else "fee"
                path, body = PATH, json.dumps({"type": kind, "amount": "10.00" if kind == "deposit" else "1.00",
                                               "currency": "USD", "account_login": logins[i % len(logins)]}).encode()
            conn.request("POST", path, body=body, headers=headers)
            response = conn.getresponse()
            response.read()
            if response.status == 201:
                counts[n] += 1
            else:
                errors[n] += 1
            i += clients
    finally:
        conn.close()


def _cpu(server_pgid: int, db_name: str) -> dict[int, tuple[str, float]]:
    """CPU seconds so far of each process of the server (its process group) and each PostgreSQL backend of
    `db_name` (Linux /proc): {pid: (kind, seconds)}."""
    tick = os.sysconf("SC_CLK_TCK")
    found = {}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rpartition(")")[2].split()
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        seconds = (int(fields[11]) + int(fields[12])) / tick  # utime, stime
        if int(fields[2]) == server_pgid:
            found[int(pid)] = ("server", seconds)
        elif cmdline.startswith("postgres: ") and f" {db_name} " in cmdline:
            found[int(pid)] = ("database", seconds)
    return found


def _cpu_since(before: dict, server_pgid: int, db_name: str) -> dict[str, float]:
    spent = {"server": 0.0, "database": 0.0}
    for pid, (kind, seconds) in _cpu(server_pgid, db_name).items():
        spent[kind] += seconds - before.get(pid, (kind, 0.0))[1]
    return spent


def _workers(master: int) -> list[int]:
    """The pids of uvicorn's worker processes: the children of its supervisor that run `spawn_main` (not
    multiprocessing's resource tracker); none with one worker (uvicorn serves in the supervisor then)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rpartition(")")[2].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                cmdline = f.read()
        except (OSError, ValueError, IndexError):
            continue
        if parent == master and b"spawn_main" in cmdline:
            found.append(int(pid))
    return sorted(found)


def _machine() -> list[int]:
    """The machine's CPU time so far, in ticks, from /proc/stat's first line: user, nice, system, idle, iowait,
    irq, softirq, steal (guests' time is already in user)."""
    try:
        with open("/proc/stat") as f:
            return [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return []


def _machine_share(before: list[int]) -> str:
    """Over a phase: how busy the machine's cores were, and which share of their time the hypervisor gave to other
    machines (steal): on a shared host a run is only comparable with runs at the same steal."""
    after = _machine()
    if not before or len(after) != len(before):
        return "-"
    spent = [b - a for a, b in zip(before, after, strict=True)]
    total = sum(spent) or 1
    busy = total - spent[3] - spent[4]
    return f"cores busy {100 * busy / total:.0f} % (steal {100 * spent[7] / total:.0f} %)"


def _per_request(spent: dict[str, float], requests: int) -> str:
    if not requests:
        return "-"
    return (f"{1000 * spent['server'] / requests:.2f} ms server + {1000 * spent['database'] / requests:.2f} ms "
            f"PostgreSQL")


class Command(BaseCommand):
    help = "Benchmark ledger postings/s through the API with N client processes (scratch database)."

    def add_arguments(self, parser):
        parser.add_argument("--clients", type=int, default=2)
        parser.add_argument("--seconds", type=float, default=20)
        parser.add_argument("--workers", type=int, default=2, help="uvicorn worker processes")
        parser.add_argument("--accounts", type=int, default=200)
        parser.add_argument("--yes", action="store_true")

    def handle(self, *args, clients, seconds, workers, accounts, yes, **options):
        if connection.vendor != "postgresql" or not yes:
            raise CommandError("Needs PostgreSQL and --yes (it writes synthetic customers and transactions).")
        from devtools.testing import free_port, running, uvicorn_cmd

        role, _ = Role.objects.get_or_create(name="bench-admin", defaults={"customer_view_scope": "all"})
        user = User.objects.filter(email="bench@bench.example").first() or User.objects.create_user(
            "bench@bench.example", None, role=role, is_superuser=True)
        existing = TradingAccount.objects.count()

        for i in range(existing, accounts):
            customer = Customer.objects.create(first_name="B", last_name=str(i), email=f"p{i}@bench.example",
                                               email_canonical=f"p{i}@bench.example", country="GB")
            account_open(customer=customer, currency="USD")
        logins = list(TradingAccount.objects.values_list("login", flat=True)[:accounts])
        for login in logins:  # fund every account so fees never overdraw (and every customer is a depositor)
            transaction_create(by=user, type="deposit", amount="1000.00", currency="USD", account_login=login)
        queries = self.one_posting(user, logins[0])
        secret = secrets.token_urlsafe(50)
        with override_settings(SECRET_KEY=secret):  # a token's password fingerprint is keyed by the server's secret
            key = token_issue(user=user, name="bench_postings")[1]
        connections.close_all()
        for conn in connections.all():
            if hasattr(conn, "close_pool"):
                conn.close_pool()

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        # Production mode, as deployed: DEBUG off (no SQL capture, no debug pages), a real secret, a host list, plain
        # http on loopback (no TLS redirect), no access log.
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="devtools.bench_settings", DEBUG="false", DEVTOOLS="true",
                   SECRET_KEY=secret, ALLOWED_HOSTS="127.0.0.1", SECURE_SSL_REDIRECT="false")
        cmd = [("devtools.bench_asgi:application" if arg == "brokercrm.asgi:application" else arg)
               for arg in uvicorn_cmd(port)] + ["--workers", str(workers), "--no-access-log"]
        db_name = connection.settings_dict["NAME"]
        with running(cmd, env=env, ready_url=f"{base}/api/health", log_name="bench-postings") as server:
            for _ in range(20):  # warm every worker (imports, pools) before timing
                httpx.post(f"{base}/bench/plain-drf", headers={"Authorization": f"Token {key}"}, json={})
            anchor_seconds = max(seconds / 4, 2.0)
            worker_pids = _workers(server.pid)
            cpu = _cpu(server.pid, db_name)
            bare, bare_errors = self.run_clients(clients, base, key, logins, anchor_seconds, anchor="/bench/bare",
                                                  workers=worker_pids)
            bare_cpu, cpu = _cpu_since(cpu, server.pid, db_name), _cpu(server.pid, db_name)
            anchor, anchor_errors = self.run_clients(clients, base, key, logins, anchor_seconds,
                                                     anchor="/bench/plain-drf", workers=worker_pids)
            anchor_cpu, cpu = _cpu_since(cpu, server.pid, db_name), _cpu(server.pid, db_name)
            machine = _machine()
            total, errors = self.run_clients(clients, base, key, logins, seconds, anchor=None, workers=worker_pids)
            machine = _machine_share(machine)
            posting_cpu = _cpu_since(cpu, server.pid, db_name)
        w = self.stdout.write
        w(f"{total:,} postings in {seconds:.1f} s with {clients} client processes and {workers} uvicorn workers: "
          f"{total / seconds:,.0f} postings/s ({errors} errors)   [goal ≥ 500/s]")
        w(f"anchor, same run: a plain DRF view (same stack and token auth) {anchor / anchor_seconds:,.0f} requests/s "
          f"({anchor_errors} errors)")
        w(f"ceiling, same run: a bare ASGI responder, no Django (same clients and workers) "
          f"{bare / anchor_seconds:,.0f} requests/s ({bare_errors} errors)")
        w("CPU per request (the machine may be shared; these do not depend on its load): posting "
          + _per_request(posting_cpu, total) + "; anchor " + _per_request(anchor_cpu, anchor)
          + f"; bare {1000 * bare_cpu['server'] / max(bare, 1):.2f} ms server")
        w(f"one posting: {len(queries)} SQL statements for a deposit (token, BEGIN, scope + row lock with the KYC "
          f"rules and the new id, transaction + lines + activities + customer + balance, COMMIT; a fee also reads "
          f"the available funds under the lock); production mode (DEBUG off); machine load "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} on {os.cpu_count()} cores; during the postings: {machine}")
        problems = ledger_verify()
        w("verify_ledger: " + ("consistent" if not problems else f"{len(problems)} problems"))

    @staticmethod
    def run_clients(clients, base, key, logins, seconds, *, anchor, workers=()):
        """`workers`: the uvicorn workers' pids; client n loads worker n modulo their number."""
        ctx = multiprocessing.get_context("fork")
        counts, errors = ctx.Array("i", clients), ctx.Array("i", clients)
        start = time.time() + 2.0
        procs = [ctx.Process(target=_client, args=(n, clients, base, key, logins, start, start + seconds, counts,
                                                   errors, anchor, workers[n % len(workers)] if workers else None))
                 for n in range(clients)]
        [p.start() for p in procs]
        [p.join() for p in procs]
        return sum(counts), sum(errors)

    @staticmethod
    def one_posting(user, login):
        """The SQL of one posting through the API (in-process test client, same view and middleware)."""
        from django.test import Client
        from django.test.utils import CaptureQueriesContext


        key = token_issue(user=user, name="bench_postings_sql")[1]
        client = Client(HTTP_AUTHORIZATION=f"Token {key}")
        body = {"type": "deposit", "amount": "1.00", "currency": "USD", "account_login": login}
        client.post(PATH, body, content_type="application/json")  # the token's first use writes last_used_at
        with CaptureQueriesContext(connection) as captured:
            response = client.post(PATH, body, content_type="application/json")
        if response.status_code != 201:
            raise CommandError(f"posting failed: {response.status_code} {response.content[:300]!r}")
        return [q["sql"] for q in captured.captured_queries]
