"""Sends paced per channel across workers, and a provider's 429 Retry-After honoured (issue #12).

Real Celery worker processes on Redis, a real SMTP server (aiosmtpd) and the fake SMS provider over HTTP."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.conf import settings
from django.db import transaction

from comms.models import EmailTemplate, Message, SmsTemplate
from comms.services import email_translation_put, message_queue, sms_translation_put
from comms.tests.test_workflows_e2e import FakeSms, Inbox, wait_for
from customers.models import Customer
from devtools.testing import ROOT, free_port, process_env, running, worker_cmd

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow,
              pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis as the Celery broker")]

SMS_RATE, EMAIL_RATE = 4, 5
SLOTS = 4  # two workers of two slots
# The queues a send may be routed to, whatever the routing (the default queue and a `comms` queue).
QUEUES = "celery,default,comms"


@pytest.fixture
def outside(request):
    options = getattr(request, "param", {})  # indirect parametrization: how the fakes misbehave
    inbox = Inbox(busy_first=options.get("busy_first", 0))
    smtp = Controller(inbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    sms = FakeSms(throttle=options.get("throttle", ()), retry_after=options.get("retry_after", "3"))
    yield inbox, smtp, sms
    smtp.stop()
    sms.server.shutdown()


@pytest.fixture
def workers(outside, demo_committed):
    """Two worker processes of two slots each: four sends could go at once, were it not for the global pace."""
    inbox, smtp, sms = outside
    env = process_env(REDIS_URL=settings.REDIS_URL, EMAIL_HOST="127.0.0.1", EMAIL_PORT=str(smtp.port),
                      EMAIL_USE_TLS="false", SMS_PROVIDER_URL=sms.url, SMS_PROVIDER_KEY="sms-key",
                      COMMS_SMS_RATE=f"{SMS_RATE}/s", COMMS_EMAIL_RATE=f"{EMAIL_RATE * 60}/m",
                      COMMS_PACE_MAX_WAIT="1")
    names = ["pace0", "pace1"]
    cmds = []
    for name in names:
        cmd = worker_cmd(name, concurrency=2, queues=QUEUES) + ["--purge"]
        cmd[cmd.index("--loglevel") + 1] = "info"
        cmds.append(cmd)
    with running(cmds[0], env=env, log_name=names[0]), running(cmds[1], env=env, log_name=names[1]):
        for name in names:
            log = Path(ROOT / "var" / f"test-{name}.log")
            assert wait_for(lambda log=log: log.exists() and "ready." in log.read_text()), log.read_text()[-2000:]
        yield inbox, sms


def queue_many(kind: str, n: int, start: int = 0) -> list[int]:
    if kind == "sms":
        template, _ = SmsTemplate.objects.get_or_create(name="pace-test")
        sms_translation_put(template=template, locale="en", body="Hi {{customer.first_name}}")
    else:
        template, _ = EmailTemplate.objects.get_or_create(name="pace-test")
        email_translation_put(template=template, locale="en", subject="Hi", body_html="<p>Hi</p>", body_text="Hi")
    customers = list(Customer.objects.exclude(phone="").exclude(email="").order_by("pk")[start:start + n])
    assert len(customers) == n
    with transaction.atomic():
        return [message_queue(customer=c, template=template).pk for c in customers]


def max_in_window(times: list[float], window: float = 1.0) -> int:
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t - start < window) for i, start in enumerate(times))


def test_sms_pace_is_global_across_workers(workers):
    _, sms = workers
    ids = queue_many("sms", 16)
    assert wait_for(lambda: Message.objects.filter(pk__in=ids, status="sent").count() == 16, 60)
    span = max(sms.times) - min(sms.times)
    assert span >= (16 - 1) / SMS_RATE - 0.3, span  # four slots unpaced would send all 16 in well under 1 s
    # Slots pace the start of each send; on a busy machine a send woken late can bunch with the next ones, so a
    # window may hold up to the four worker slots more than the rate (unpaced, all 16 arrive within one second).
    gaps = [round(b - a, 3) for a, b in pairwise(sms.times)]
    assert max_in_window(sms.times, 2.0) <= 2 * SMS_RATE + SLOTS, gaps
    assert all(m.attempts == 1 for m in Message.objects.filter(pk__in=ids))  # waiting for a slot is no attempt


def test_email_pace_over_smtp(workers):
    inbox, _ = workers
    ids = queue_many("email", 10)
    assert wait_for(lambda: Message.objects.filter(pk__in=ids, status="sent").count() == 10, 60)
    span = max(inbox.times) - min(inbox.times)
    assert span >= (10 - 1) / EMAIL_RATE - 0.3, span
    gaps = [round(b - a, 3) for a, b in pairwise(inbox.times)]
    assert max_in_window(inbox.times, 2.0) <= 2 * EMAIL_RATE + SLOTS, gaps


@pytest.mark.parametrize("outside", [{"busy_first": 1}], indirect=True)
def test_smtp_4xx_is_temporary(workers):
    inbox, _ = workers
    [message_id] = queue_many("email", 1)
    assert wait_for(lambda: Message.objects.get(pk=message_id).status == "sent", 30)
    assert inbox.attempts == 2 and Message.objects.get(pk=message_id).attempts == 2


@pytest.mark.parametrize("outside", [{"throttle": {1}, "retry_after": "3"}], indirect=True)
def test_429_retry_after_is_honoured_by_the_whole_channel(workers):
    _, sms = workers
    first = queue_many("sms", 1)
    assert wait_for(lambda: sms.calls == 1 and Message.objects.get(pk=first[0]).error, 30)
    throttled_at = sms.call_times[0]
    later = queue_many("sms", 2, start=1)  # other messages queued during the provider's pause
    ids = first + later
    assert wait_for(lambda: Message.objects.filter(pk__in=ids, status="sent").count() == 3, 60)
    # The refused message came back no sooner than the provider asked, and no other send went out meanwhile.
    assert all(t >= throttled_at + 3 - 0.05 for t in sms.call_times[1:]), [t - throttled_at for t in sms.call_times]
    assert sms.calls == 4 and Message.objects.get(pk=first[0]).attempts == 2
