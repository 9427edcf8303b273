"""ASGI entry point: uvicorn serves the API, the workspace and the SSE streams (django-eventstream's dialect).

Live streams (`/api/crm/accounts/<login>/stream`) go through the same Django stack (middleware, sessions, 2FA,
token auth, the same view) but without Django's per-request `ThreadSensitiveContext`: that context gives each
request its own executor thread for its sync parts and keeps it until the response ends, so every open stream
held an idle thread (and, under a burst of connects, a thread each asking for database and Redis connections at
once). A stream's sync work is short and happens once at connect, so those requests share asgiref's single
thread-sensitive thread instead; everything else keeps a context per request.
"""

import os
import re

from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")
django_application = get_asgi_application()

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
