"""The live feed's per-process fan-out (crm.trading.fanout): one Redis subscription per web process shared by all
its streams, the 500 ms throttle once per account, and django-eventstream's wire format kept."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
import redis
from django.conf import settings
from django.test import override_settings
from django_eventstream import send_event

from crm.trading import fanout
from customers.models import Customer
from devtools.testing import free_port, process_env, running, uvicorn_cmd


def _in_own_loop(coro_factory):
    # In a thread of its own: Playwright's sync API may hold an event loop on the test thread.
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_factory()).result()


def test_throttle_once_per_account_latest_state_wins():
    """Ten states in ~100 ms reach every stream of the account as the first and the latest, ≥ 480 ms apart (the
    producer's 20 ms of jitter); other event types pass at once; another account is throttled on its own."""

    async def scenario():
        hub = fanout.hub()
        streams = [fanout.stream("account-1"), fanout.stream("account-1"), fanout.stream("account-2")]
        for s in streams:
            assert await anext(s) == fanout.OPEN
        got: list[list[tuple[float, bytes]]] = [[], [], []]
        start = time.monotonic()

        async def read(i):
            async for chunk in streams[i]:
                got[i].append((time.monotonic() - start, chunk))

        readers = [asyncio.create_task(read(i)) for i in range(3)]
        for n in range(10):
            hub.dispatch("account-1", "state", json.dumps({"n": n}))
            hub.dispatch("account-2", "state", json.dumps({"m": n}))
            await asyncio.sleep(0.01)
        hub.dispatch("account-1", "notice", json.dumps({"x": 1}))
        await asyncio.sleep(0.7)
        hub.dispatch("account-1", "state", json.dumps({"n": 10}))
        await asyncio.sleep(0.5)
        for task in readers:
            task.cancel()
        await asyncio.gather(*readers, return_exceptions=True)
        for s in streams:
            await s.aclose()
        return got, len(hub.channels)

    with override_settings(EVENTSTREAM_REDIS=None, ACCOUNT_STREAM_MIN_INTERVAL_MS=500):
        got, channels_left = _in_own_loop(scenario)
    for chunks in got[:2]:
        states = [(t, c.decode()) for t, c in chunks if c.startswith(b"event: state")]
        assert [c for _, c in states] == ['event: state\ndata: {"n": 0}\n\n', 'event: state\ndata: {"n": 9}\n\n',
                                          'event: state\ndata: {"n": 10}\n\n']
        times = [t for t, _ in states]
        assert all(b - a >= 0.45 for a, b in zip(times, times[1:], strict=False)), times
        notice = next(t for t, c in chunks if c.startswith(b"event: notice"))
        assert notice < times[1]  # not held back by the throttle
    assert [c for _, c in got[2]] == [b'event: state\ndata: {"m": 0}\n\n', b'event: state\ndata: {"m": 9}\n\n']
    assert channels_left == 0  # closed streams leave nothing behind


def test_embedded_default_taps_django_eventstream_in_process():
    """Without Redis, send_event's in-process path reaches the hub's streams (one listener for the process)."""
    from django_eventstream.views import get_listener_manager

    async def scenario():
        fanout.hub()
        stream = fanout.stream("account-7")
        assert await anext(stream) == fanout.OPEN
        pending = asyncio.ensure_future(anext(stream))
        await asyncio.sleep(0)
        manager = get_listener_manager()
        assert len(manager.listeners_by_channel["account-7"]) == 1
        await asyncio.to_thread(manager.add_to_queues, "account-7",
                                type("E", (), {"type": "state", "data": '{"a": 1}'})())
        chunk = await asyncio.wait_for(pending, 5)
        await stream.aclose()
        return chunk, "account-7" in manager.listeners_by_channel

    with override_settings(EVENTSTREAM_REDIS=None):
        chunk, still_listed = _in_own_loop(scenario)
    assert chunk == b'event: state\ndata: {"a": 1}\n\n'
    assert not still_listed


def _read(url, headers, want, out, ready):
    """Collect `event: state` data lines of one stream until `want` arrived (or 15 s)."""
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(20)) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        lines = response.iter_lines()
        first = next(lines)
        assert first.startswith(":") and len(first) > 2000  # django-eventstream's padding comment
        event = None
        deadline = time.monotonic() + 15
        for line in lines:
            if line == "event: stream-open":
                ready.release()
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "state":
                out.append(json.loads(line[5:]))
                if len(out) >= want:
                    return
            if time.monotonic() > deadline:
                return


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.skipif(not settings.REDIS_URL, reason="the subscription is a Redis one")
def test_many_streams_share_one_redis_subscription(demo_committed):
    """Six streams on two accounts in one uvicorn process: Redis sees one subscriber on django-eventstream's
    channel, every stream gets its account's events (and only those), throttled per account."""
    agent = demo_committed["agent"]
    logins = [c.accounts.first().login for c in Customer.objects.filter(assigned_to=agent)[:2]]
    env = process_env(REDIS_URL=settings.REDIS_URL)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    r = redis.Redis.from_url(settings.REDIS_URL)
    before = dict(r.pubsub_numsub(fanout.EVENTS_CHANNEL))[fanout.EVENTS_CHANNEL.encode()]
    with running(uvicorn_cmd(port), env=env, ready_url=f"{base}/api/health", log_name="sse-fanout"):
        key = httpx.post(f"{base}/api/auth/token", json={"email": "agent@demo.test", "password": "demo-password"})
        headers = {"Authorization": f"Token {key.json()['token']}"}
        results: list[list[dict]] = [[] for _ in range(6)]
        ready = threading.Semaphore(0)
        threads = [threading.Thread(target=_read, args=(f"{base}/api/crm/accounts/{logins[i % 2]}/stream", headers,
                                                        2, results[i], ready)) for i in range(6)]
        [t.start() for t in threads]
        for _ in range(6):
            assert ready.acquire(timeout=30)
        numsub = dict(r.pubsub_numsub(fanout.EVENTS_CHANNEL))[fanout.EVENTS_CHANNEL.encode()]
        assert numsub - before == 1  # one subscription for the process, not one per stream
        for n in range(5):  # a burst: coalesced to the first and the latest per account
            for login in logins:
                send_event(f"account-{login}", "state", {"login": login, "n": n})
            time.sleep(0.02)
        [t.join(20) for t in threads]
    for i, events in enumerate(results):
        assert [e["login"] for e in events] == [logins[i % 2]] * 2, events
        assert [e["n"] for e in events] == [0, 4], events


@pytest.mark.django_db(transaction=True)  # the connect check runs on a connect thread (its own connection)
def test_stream_handler_writes_in_place_and_keeps_no_request(demo_committed):
    """Through brokercrm.asgi: a stream's headers and opening go out, its request is finished at connect
    (`request_finished`), each further stream adds one task (its connection's, nothing of Django's), an event reaches
    every stream's ASGI send within the hub's own call (no task wake-up in between), an account out of scope is
    404, and a client that leaves takes its stream out of the hub."""
    from asgiref.testing import ApplicationCommunicator
    from django.core.signals import request_finished

    from brokercrm.asgi import application
    from teams.tokens import token_issue

    agent = demo_committed["agent"]
    login = Customer.objects.filter(assigned_to=agent).first().accounts.first().login
    other = Customer.objects.filter(team__name="Sales LATAM").first().accounts.first().login
    key = token_issue(user=agent)[1]
    finished = []

    def on_finished(**kwargs):
        finished.append(1)

    def scope(path):
        return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "path": path,
                "raw_path": path.encode(), "query_string": b"", "scheme": "http", "server": ("127.0.0.1", 80),
                "client": ("127.0.0.1", 50000),
                "headers": [(b"host", b"127.0.0.1"), (b"authorization", f"Token {key}".encode())]}

    async def open_stream(account):
        app = ApplicationCommunicator(application, scope(f"/api/crm/accounts/{account}/stream"))
        await app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await app.receive_output(timeout=20)
        return app, start

    async def scenario():
        first, start = await open_stream(login)
        assert start["status"] == 200 and (b"Content-Type", b"text/event-stream") in start["headers"]
        assert (await first.receive_output(timeout=5))["body"] == fanout.OPEN
        assert finished  # the request ended at connect
        tasks = len(asyncio.all_tasks())
        streams = [first]
        for _ in range(3):
            app, _ = await open_stream(login)
            assert (await app.receive_output(timeout=5))["body"] == fanout.OPEN
            streams.append(app)
        added = len(asyncio.all_tasks()) - tasks
        hub = fanout.hub()
        hub.dispatch(f"account-{login}", "state", json.dumps({"n": 1}))
        in_place = [app.output_queue.qsize() for app in streams]  # before this coroutine yields once
        chunks = [(await app.receive_output(timeout=5))["body"] for app in streams]
        refused, start = await open_stream(other)
        refused_status = start["status"]
        await refused.wait(timeout=5)
        for app in streams:
            await app.send_input({"type": "http.disconnect"})
            await app.wait(timeout=5)
        return added, in_place, chunks, refused_status, f"account-{login}" in hub.channels

    request_finished.connect(on_finished)
    try:
        with override_settings(EVENTSTREAM_REDIS=None):
            added, in_place, chunks, refused_status, still_there = _in_own_loop(scenario)
    finally:
        request_finished.disconnect(on_finished)
    assert added == 3  # one task per stream: the connection's own
    assert in_place == [1, 1, 1, 1]
    assert chunks == [b'event: state\ndata: {"n": 1}\n\n'] * 4
    assert refused_status == 404
    assert not still_there
