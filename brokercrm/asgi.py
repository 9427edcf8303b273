"""ASGI entry point: uvicorn serves the API, the workspace and the SSE streams (django-eventstream's dialect).

Every other request runs Django's middleware chain in its synchronous form (as under WSGI), in one hop to the
request's thread: most of our middleware is synchronous, so Django's asynchronous chain went to the thread, back to
the event loop for the (async-capable) last middleware, and to the thread again for the view; each hop is a wake-up
of two threads (about a millisecond of CPU on a busy machine). Same middleware, same order, same thread context.

Live streams (`/api/crm/accounts/<login>/stream`) go through the same Django stack (middleware, sessions, 2FA,
token auth, the same view) but without Django's per-request `ThreadSensitiveContext`: that context gives each
request its own executor thread for its sync parts and keeps it until the response ends, so every open stream
held an idle thread (and, under a burst of connects, a thread each asking for database and Redis connections at
once). A stream's sync work is short and happens once at connect, so those requests share asgiref's single
thread-sensitive thread instead; everything else keeps a context per request.
"""

import os
import re

import django
from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
django.setup(set_prefix=False)


class SyncChainHandler(ASGIHandler):
    """Django's ASGI handler with the synchronous middleware chain, entered once per request in its thread."""

    def load_middleware(self, is_async=False):
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)


django_application = SyncChainHandler()

LIVE_STREAM_PATH = re.compile(r"^/api/crm/accounts/\d+/stream/?$")


class LiveStreamHandler(ASGIHandler):
    """Django's handler without the per-request thread context (for long-lived streams)."""

    async def __call__(self, scope, receive, send):
        await self.handle(scope, receive, send)


live_stream_application = LiveStreamHandler()


async def application(scope, receive, send):
    if scope["type"] == "http" and LIVE_STREAM_PATH.match(scope["path"]):
        return await live_stream_application(scope, receive, send)
    return await django_application(scope, receive, send)
