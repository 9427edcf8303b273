"""Live streams at scale: a slow consumer does not hold up the others, a stream that fell behind catches up in one
write, and a connect storm of many streams on one uvicorn process (checked on the pool of connect threads, each
scope-checked) all receive the next event."""

from __future__ import annotations

import asyncio
import json
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.conf import settings
from django.test import override_settings
from django_eventstream import send_event

from crm.trading import fanout
from customers.models import Customer
from devtools.testing import free_port, process_env, running, uvicorn_cmd


def _in_own_loop(coro_factory):
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_factory()).result()


def test_slow_consumer_does_not_stall_the_others():
    """One stream whose client stopped reading (its ASGI `send` never returns) and four healthy ones on the same
    account and another: the healthy ones get every event at once; the stalled one holds at most MAX_BUFFER chunks
    (the latest always kept) and, once its client reads again, gets them in a single write."""

    async def scenario():
        hub = fanout.hub()
        stalled = asyncio.Event()
        release = asyncio.Event()
        sent: dict[int, list[bytes]] = {i: [] for i in range(5)}

        def sender(i):
            async def send(message):
                if message.get("body"):
                    sent[i].append(message["body"])
                if i == 0 and len(sent[0]) == 2:  # the opening and one event, then the client stops reading
                    stalled.set()
                    await release.wait()

            return send

        gone = asyncio.Event()

        async def receive():  # the clients stay until the end
            await gone.wait()
            return {"type": "http.disconnect"}

        channels = ["account-1", "account-1", "account-1", "account-2", "account-2"]
        bodies = [asyncio.create_task(fanout.LiveStreamResponse(c).live_stream(sender(i), receive))
                  for i, c in enumerate(channels)]
        await asyncio.sleep(0.01)
        for n in range(30):  # non-state events pass the throttle, so each one is a write
            hub.dispatch("account-1", "notice", json.dumps({"n": n}))
            hub.dispatch("account-2", "notice", json.dumps({"n": n}))
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        assert stalled.is_set()
        healthy = {i: len(sent[i]) for i in range(1, 5)}
        buffered = len(hub.channels["account-1"].subscribers and
                       next(s for s in hub.channels["account-1"].subscribers if s.buffer).buffer)
        release.set()
        await asyncio.sleep(0.05)
        caught_up = sent[0][2:]
        gone.set()  # every client leaves: each stream ends and leaves the hub
        await asyncio.wait_for(asyncio.gather(*bodies), 5)
        return healthy, buffered, caught_up, len(hub.channels)

    with override_settings(EVENTSTREAM_REDIS=None):
        healthy, buffered, caught_up, channels_left = _in_own_loop(scenario)
    assert healthy == {1: 31, 2: 31, 3: 31, 4: 31}  # the opening and all 30 events, none held up
    assert buffered == fanout.MAX_BUFFER
    assert len(caught_up) == 1  # one write with what it held: the newest MAX_BUFFER events, in order
    assert caught_up[0].count(b"event: notice") == fanout.MAX_BUFFER
    assert caught_up[0].endswith(b'data: {"n": 29}\n\n')
    assert channels_left == 0


class _Reader(asyncio.Protocol):
    def __init__(self, request: bytes):
        self.request, self.data, self.transport = request, b"", None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        self.data += data


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.skipif(not settings.REDIS_URL, reason="live events cross processes through Redis")
def test_connect_storm_all_streams_receive(demo_committed):
    """300 streams opened at once on one uvicorn process (token auth, spread over the agent's accounts) plus 20
    requests for an account out of the agent's scope: every allowed stream opens and receives the next event, every
    out-of-scope one is refused with 404."""
    import httpx

    agent = demo_committed["agent"]
    mine = [c.accounts.first().login for c in Customer.objects.filter(assigned_to=agent)[:5]]
    other = Customer.objects.filter(team__name="Sales LATAM").first().accounts.first().login
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(uvicorn_cmd(port), env=process_env(REDIS_URL=settings.REDIS_URL), ready_url=f"{base}/api/health",
                 log_name="sse-storm"):
        key = httpx.post(f"{base}/api/auth/token",
                         json={"email": "agent@demo.test", "password": "demo-password"}).json()["token"]

        def request(login):
            return (f"GET /api/crm/accounts/{login}/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    f"Authorization: Token {key}\r\nAccept: text/event-stream\r\n\r\n").encode()

        async def storm():
            loop = asyncio.get_running_loop()
            wanted = [mine[i % len(mine)] for i in range(300)] + [other] * 20
            readers = [_Reader(request(login)) for login in wanted]
            await asyncio.gather(*(loop.create_connection(lambda r=r: r, "127.0.0.1", port) for r in readers))
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and not all(
                    b"stream-open" in r.data or b"404" in r.data[:20] for r in readers):
                await asyncio.sleep(0.2)
            await asyncio.to_thread(lambda: [send_event(f"account-{login}", "state", {"storm": login})
                                             for login in mine])
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not all(b'"storm"' in r.data for r in readers[:300]):
                await asyncio.sleep(0.1)
            for r in readers:
                r.transport.close()
            return wanted, [r.data for r in readers]

        wanted, data = _in_own_loop(storm)
    for login, got in zip(wanted[:300], data[:300], strict=True):
        assert got.startswith(b"HTTP/1.1 200"), got[:200]
        assert f'{{"storm": {login}}}'.encode() in got  # its own account's event, and no other account's
        assert got.count(b'"storm"') == 1
    for got in data[300:]:
        assert got.startswith(b"HTTP/1.1 404"), got[:200]
        assert b"storm" not in got
