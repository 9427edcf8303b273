"""Workflows end to end: a real Celery worker, a real SMTP server (aiosmtpd) and a fake SMS provider over HTTP."""

from __future__ import annotations

import json
import threading
import time
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from rest_framework.test import APIClient

from comms import conf as comms_conf
from comms.models import Message, Workflow, WorkflowAction, WorkflowRun
from crm.models import Task
from customers.models import Customer
from devtools.testing import ROOT, free_port, process_env, running, worker_cmd

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow,
              pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker")]


class Inbox:
    """An SMTP server's mailbox; answers `451 try again later` to the first `busy_first` messages."""

    def __init__(self, busy_first=0):
        self.messages, self.times, self.busy_first, self.attempts = [], [], busy_first, 0

    async def handle_DATA(self, server, session, envelope):
        self.attempts += 1
        if self.attempts <= self.busy_first:
            return "451 4.7.1 Try again later"
        self.messages.append(message_from_bytes(envelope.content))
        self.times.append(time.monotonic())
        return "250 OK"


class FakeSms:
    """An SMS provider: POST /messages with a bearer key; fails the first `fail_first` calls with 503; answers
    `429 Too Many Requests` with `Retry-After: <retry_after>` to the calls numbered in `throttle`."""

    def __init__(self, fail_first=0, throttle=(), retry_after="3"):
        self.calls, self.sent, self.fail_first = 0, [], fail_first
        self.throttle, self.retry_after, self.times, self.call_times = set(throttle), retry_after, [], []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                fake.calls += 1
                fake.call_times.append(time.monotonic())
                if self.headers.get("Authorization") != "Bearer sms-key":
                    self.send_response(401), self.end_headers()
                    return
                if fake.calls <= fake.fail_first:
                    self.send_response(503), self.end_headers()
                    return
                if fake.calls in fake.throttle:
                    self.send_response(429)
                    self.send_header("Retry-After", fake.retry_after)
                    self.end_headers()
                    return
                fake.sent.append(body)
                fake.times.append(time.monotonic())
                data = json.dumps({"id": f"sms-{len(fake.sent)}"}).encode()
                self.send_response(201)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def wait_for(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.fixture
def outside_world():
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    sms = FakeSms(fail_first=2)
    yield inbox, smtp, sms
    smtp.stop()
    sms.server.shutdown()


@pytest.fixture
def worker(outside_world, demo_committed):
    inbox, smtp, sms = outside_world
    env = process_env(REDIS_URL=settings.REDIS_URL, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.port),
                      EMAIL_USE_TLS="false", SMS_PROVIDER_URL=sms.url, SMS_PROVIDER_KEY="sms-key",
                      COMMS_CALLBACK_TOKEN="cb-token")
    cmd = worker_cmd("comms", concurrency=2) + ["--purge"]
    cmd[cmd.index("--loglevel") + 1] = "info"
    with running(cmd, env=env, log_name="comms-worker"):
        log = Path(ROOT / "var" / "test-comms-worker.log")
        assert wait_for(lambda: log.exists() and "ready." in log.read_text()), log.read_text()[-2000:]
        yield inbox, sms


def register(email="jane.roe@example.org", **extra):
    body = {"email": email, "password": "TestPass1234x", "first_name": "Jane", "last_name": "Roe",
            "phone": "+447911123456", "country": "GB", "source": "organic", **extra}
    response = APIClient().post("/api/customer/register", body, format="json")
    assert response.status_code == 201, response.content
    return Customer.objects.get(pk=response.json()["id"])


def test_welcome_workflow_sends_email_and_creates_task(worker):
    inbox, _ = worker
    customer = register()
    assert wait_for(lambda: inbox.messages), "no email arrived"
    email = inbox.messages[0]
    assert email["Subject"] == "Welcome, Jane!" and email["To"] == "jane.roe@example.org"
    assert wait_for(lambda: Message.objects.filter(customer=customer, status="sent").exists())
    run = WorkflowRun.objects.get(customer=customer, workflow__name="Welcome new customers")
    assert wait_for(lambda: WorkflowRun.objects.get(pk=run.pk).status == "succeeded")
    assert Task.objects.filter(customer=customer, title="Welcome call").count() == 1


def test_sms_retries_then_delivers_and_callback_updates_the_log(worker, demo_committed):
    _, sms = worker
    customer = Customer.objects.filter(country="GB").first()
    from ledger.services import transaction_create

    account = customer.accounts.first()
    transaction_create(by=demo_committed["admin"], type="deposit", amount="250.00", currency=account.currency,
                       account_login=account.login)
    assert wait_for(lambda: Message.objects.filter(customer=customer, channel="sms", status="sent").exists(), 90)
    message = Message.objects.get(customer=customer, channel="sms")
    assert message.attempts == 3 and sms.calls == 3  # two 503s, then accepted
    assert "250.00" in sms.sent[0]["body"] and sms.sent[0]["to"] == customer.phone
    callback = APIClient().post("/api/platform/sms/callbacks", {"id": message.provider_id, "status": "delivered"},
                                format="json", HTTP_X_CALLBACK_TOKEN=comms_conf.COMMS_CALLBACK_TOKEN)
    assert callback.status_code == 200
    assert Message.objects.get(pk=message.pk).status == "delivered"


def test_assign_action_and_conditions(worker, demo_committed):
    agent = demo_committed["agent"]
    workflow = Workflow.objects.create(name="Route UK affiliates", trigger="customer.registered",
                                       conditions={"country": ["GB"], "source": ["promo"]})
    WorkflowAction.objects.create(workflow=workflow, position=1, kind="assign", params={"agent_ids": [agent.pk]})
    from comms.workflows import triggers_changed

    triggers_changed()
    promo = register("p@example.org", source="promo", promo_code="DEMO100", phone="+447911123457")
    organic = register("o@example.org", phone="+447911123458")
    assert wait_for(lambda: Customer.objects.get(pk=promo.pk).assigned_to_id == agent.pk)
    assert wait_for(lambda: WorkflowRun.objects.filter(workflow=workflow, customer=organic,
                                                       status="skipped").exists())
    assert Customer.objects.get(pk=organic.pk).assigned_to_id is None
