"""Issue #16: the ASGI entry point runs the synchronous middleware chain in one hop to the request's thread
(brokercrm.asgi.SyncChainHandler). Same middleware, same order: token-authenticated API calls work, session-
authenticated API writes still need their CSRF token, pages still get their security headers."""

from __future__ import annotations

import asyncio
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from asgiref.testing import ApplicationCommunicator
from django.test import Client

from brokercrm.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)  # the request runs in its own thread (its own connection)


def call(method: str, path: str, *, body: bytes = b"", headers: dict[str, str] | None = None):
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method, "path": path,
             "raw_path": path.encode(), "query_string": b"", "scheme": "http", "server": ("127.0.0.1", 80),
             "client": ("127.0.0.1", 50000),
             "headers": [(k.lower().encode(), v.encode()) for k, v in {"host": "127.0.0.1", **(headers or {})}.items()]}

    async def run():
        app = ApplicationCommunicator(application, scope)
        await app.send_input({"type": "http.request", "body": body, "more_body": False})
        start = await app.receive_output(timeout=20)
        content = b""
        while True:
            message = await app.receive_output(timeout=20)
            content += message.get("body", b"")
            if not message.get("more_body"):
                break
        await app.wait(timeout=5)
        return start["status"], {k.lower(): v for k, v in start["headers"]}, content

    # On a thread of its own: a browser test earlier in the session may leave an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, run()).result()


def test_the_chain_is_synchronous_and_complete():
    from django.conf import settings

    from brokercrm.asgi import django_application

    assert not asyncio.iscoroutinefunction(django_application._middleware_chain)
    assert len(settings.MIDDLEWARE) == 15  # every middleware still wraps the view (one class each)


def test_session_api_writes_still_need_csrf_and_tokens_do_not(demo):
    client = Client(enforce_csrf_checks=True)
    client.force_login(demo["admin"])
    cookie = client.cookies["sessionid"].value
    body = json.dumps({"type": "deposit", "amount": "10.00", "currency": "USD", "customer_id": 1}).encode()
    status, _, content = call("POST", "/api/backoffice/transactions", body=body,
                              headers={"content-type": "application/json", "cookie": f"sessionid={cookie}"})
    assert status == 403 and b"CSRF" in content

    from teams.tokens import token_issue

    key = token_issue(user=demo["agent"])[1]
    status, headers, content = call("GET", "/api/crm/customers", headers={"authorization": f"Token {key}"})
    assert status == 200, content
    assert headers[b"x-frame-options"] == b"DENY" and b"content-security-policy" in headers
    status, _, _ = call("GET", "/api/crm/customers", headers={"authorization": "Token " + "0" * 40})
    assert status == 401


def test_requests_reuse_kept_threads_one_request_per_thread_at_a_time():
    """SyncChainHandler keeps its request threads: a request takes an idle one (or makes one when all are busy) and
    gives it back when its response is sent; a cancelled request's thread is not given back."""
    from brokercrm.asgi import SyncChainHandler

    handler = SyncChainHandler()
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
             "path": "/api/health", "raw_path": b"/api/health", "query_string": b"", "scheme": "http",
             "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 50000), "headers": [(b"host", b"127.0.0.1")]}

    async def finish(app):
        await app.send_input({"type": "http.request", "body": b"", "more_body": False})
        start = await app.receive_output(timeout=20)
        while (await app.receive_output(timeout=20)).get("more_body"):
            pass
        await app.wait(timeout=5)
        return start["status"]

    async def run():
        assert await finish(ApplicationCommunicator(handler, scope)) == 200
        first = list(handler._idle)
        assert await finish(ApplicationCommunicator(handler, scope)) == 200
        assert handler._idle == first and len(first) == 1  # the same thread served the second request
        # Two requests in flight at once (both started, neither has its body yet): two threads.
        one, two = ApplicationCommunicator(handler, scope), ApplicationCommunicator(handler, scope)
        await asyncio.sleep(0)
        assert await asyncio.gather(finish(one), finish(two)) == [200, 200]
        assert len(handler._idle) == 2 and len(set(map(id, handler._idle))) == 2
        # A request cancelled while waiting for the rest of its body: its thread is shut down, not given back.
        idle = list(handler._idle)
        gone = ApplicationCommunicator(handler, scope)
        await gone.send_input({"type": "http.request", "body": b"", "more_body": True})
        await asyncio.sleep(0.05)
        taken = [e for e in idle if e not in handler._idle]
        assert len(taken) == 1
        gone.future.cancel()
        with pytest.raises(asyncio.CancelledError):
            await gone.future
        assert taken[0] not in handler._idle and taken[0]._shutdown
        # Past a burst, no more than `keep_idle` idle threads stay.
        handler.keep_idle = 2
        burst = [ApplicationCommunicator(handler, scope) for _ in range(4)]
        await asyncio.sleep(0)
        assert await asyncio.gather(*map(finish, burst)) == [200] * 4
        assert len(handler._idle) == 2

    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()
