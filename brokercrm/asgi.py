"""ASGI entry point: uvicorn serves the API, the workspace and the SSE streams (django-eventstream's dialect).

Every other request runs Django's middleware chain in its synchronous form (as under WSGI), in one hop to the
request's thread: most of our middleware is synchronous, so Django's asynchronous chain went to the thread, back to
the event loop for the (async-capable) last middleware, and to the thread again for the view; each hop is a wake-up
of two threads (about a millisecond of CPU on a busy machine). Same middleware, same order, same thread context.

Live streams (`/api/crm/accounts/<login>/stream`) go through the same Django stack (middleware, sessions, 2FA,
token auth, the same view) with two differences, both for streams that stay open for hours by the thousand:

- Threads: Django's per-request `ThreadSensitiveContext` gives each request a fresh executor thread for its sync
  parts and keeps it until the response ends, so every open stream held an idle thread. A stream's sync work is
  short and happens once at connect, so stream requests share a small fixed pool of single-thread executors
  (round robin, `STREAM_CONNECT_THREADS`): a burst of connects is checked on a few threads in parallel instead of
  queueing on one, and no thread is held per stream. Within one request every sync part still runs on the same
  thread (asgiref's thread-sensitive rule).
- Body: a response with a `live_stream(send, receive)` coroutine (crm.trading.fanout.LiveStreamResponse) has its
  headers sent, the request is finished and let go, and the stream is served by the live feed's hub, which writes
  each event straight to the ASGI `send` (no per-event async-generator layers of Django's streaming loop, no task
  per stream). Any other response is sent by Django as usual.
"""

import asyncio
import gc
import itertools
import os
import re
from concurrent.futures import ThreadPoolExecutor

import django
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core import signals
from django.core.exceptions import RequestAborted
from django.core.handlers.asgi import ASGIHandler, get_script_prefix
from django.http import FileResponse
from django.urls import set_script_prefix

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
django.setup(set_prefix=False)


class SyncChainHandler(ASGIHandler):
    """Django's ASGI handler with the synchronous middleware chain, entered once per request in its thread.

    The thread is a kept one: Django's `ThreadSensitiveContext` would start a new executor thread for every request
    (and join it at the end, ~0.5 ms of CPU each here); instead a request takes an idle single-thread executor from
    this process's free list, or makes one when all are busy, and gives it back when its response is sent. One
    request per thread at a time, every sync part of a request on that thread, as under a threaded WSGI server; at
    most `keep_idle` idle threads are kept. A request that ends in an exception or is cancelled
    (its sync part may still be running) does not give its thread back: the thread ends when that part returns."""

    keep_idle = 32  # idle request threads kept per process; a burst beyond it makes threads that end after it

    def __init__(self):
        super().__init__()
        self._idle: list[ThreadPoolExecutor] = []

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def handle(self, scope, receive, send):
        """Django's `ASGIHandler.handle` with one hop to the request's thread instead of three (the started
        signal, the response, the finished signal each went to the thread and back) and no disconnect watcher
        (it could only cancel the wait: a synchronous view runs to its end). In that one hop: `request_started`,
        the request object, the middleware chain and view, and, for a response whose content is already complete
        (not streaming), `response.close()` with `request_finished` (which hands the database connection back)
        before its bytes are sent. A streaming response is sent first and closed after, as Django does."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return
        set_script_prefix(get_script_prefix(scope))
        try:
            response = await sync_to_async(self._respond, thread_sensitive=True)(scope, body_file)
            try:
                await self.send_response(response, send)
            finally:  # also when cancelled mid-stream: the finished signal still hands the connection back
                if response.streaming:
                    await sync_to_async(response.close, thread_sensitive=True)()
        finally:
            body_file.close()

    def _respond(self, scope, body_file):
        signals.request_started.send(sender=self.__class__, scope=scope)
        request, response = self.create_request(scope, body_file)
        if request is not None:
            response = self.get_response(request)
            response._handler_class = self.__class__
            if isinstance(response, FileResponse):
                response.block_size = self.chunk_size
        if not response.streaming:
            response.close()
        return response

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await super().__call__(scope, receive, send)
        executor = self._idle.pop() if self._idle else ThreadPoolExecutor(max_workers=1,
                                                                          thread_name_prefix="request")
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        except BaseException:  # cancelled (the client went away) or failed: its thread may still be busy
            executor.shutdown(wait=False)
            raise
        if len(self._idle) < self.keep_idle:
            self._idle.append(executor)
        else:  # past a burst: don't keep more idle threads than a steady load needs
            executor.shutdown(wait=False)


django_application = SyncChainHandler()

LIVE_STREAM_PATH = re.compile(r"^/api/crm/accounts/\d+/stream/?$")
STREAM_CONNECT_THREADS = max(1, int(os.environ.get("STREAM_CONNECT_THREADS", "4")))


class LiveStreamHandler(ASGIHandler):
    """Django's handler for long-lived streams: a shared pool of executor threads, and a stream that keeps nothing
    of its request once its headers are out."""

    def __init__(self, threads: int = STREAM_CONNECT_THREADS):
        super().__init__()
        self.executors = [ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"stream-connect-{i}")
                          for i in range(threads)]
        self._next = itertools.cycle(self.executors)

    async def __call__(self, scope, receive, send):
        # The connect runs as a task of its own, i.e. in a copy of this context: what the request's middleware left
        # in context variables (the user, asgiref's locals) goes with it instead of staying with the open stream.
        live = await asyncio.create_task(self.checked_connect(scope, receive, send))
        if live is not None:
            await live(send, receive)

    async def checked_connect(self, scope, receive, send):
        async with ThreadSensitiveContext(executor=next(self._next)):
            return await self.connect(scope, receive, send)

    async def connect(self, scope, receive, send):
        """Django's `handle` up to the response: the same middleware, authentication and view. A live stream's
        answer (a response with `live_stream(send, receive)`, crm.trading.fanout.LiveStreamResponse) gets its
        headers sent and the request is finished at once (`request_finished`, as at the end of any request); only
        `live_stream` is kept, so an open stream holds its connection and a slot in the hub, not a request, its
        response or middleware state. Django's handler keeps all of them and two tasks (the view's and a disconnect
        listener) until the stream ends. Any other answer (401, 404, 400…) is sent as Django sends it."""
        try:
            body_file = await self.read_body(receive)
        except RequestAborted:
            return None
        set_script_prefix(get_script_prefix(scope))
        await signals.request_started.asend(sender=self.__class__, scope=scope)
        request, error_response = self.create_request(scope, body_file)
        if request is None:
            body_file.close()
            await self.send_response(error_response, send)
            await sync_to_async(error_response.close)()
            return None
        response = await self.run_get_response(request)
        live = getattr(response, "live_stream", None)
        try:
            if live is None:
                await self.send_response(response, send)
                return None
            headers = [(k.encode("ascii"), v.encode("latin1")) for k, v in response.items()]
            headers += [(b"Set-Cookie", c.output(header="").encode("ascii").strip())
                        for c in response.cookies.values()]
            await send({"type": "http.response.start", "status": response.status_code, "headers": headers})
            return live
        finally:
            await sync_to_async(response.close)()
            body_file.close()


live_stream_application = LiveStreamHandler()


async def application(scope, receive, send):
    if scope["type"] == "http" and LIVE_STREAM_PATH.match(scope["path"]):
        return await live_stream_application(scope, receive, send)
    return await django_application(scope, receive, send)


# What is loaded by now (Django, the apps, the URL conf: ~134,000 tracked objects) lives as long as the process: out
# of the cyclic garbage collector's way, each full collection is ~80 ms of CPU shorter (the event loop stops during
# one; with thousands of open streams a full collection was the live feed's worst lag, docs/readme/performance.md).
gc.collect()
gc.freeze()
