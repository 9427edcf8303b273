import os, threading, asyncio
from concurrent.futures import ThreadPoolExecutor
from asgiref.sync import ThreadSensitiveContext, sync_to_async
from brokercrm import asgi as base
MODE = os.environ.get("EXP", "base")

class Inline(base.SyncChainHandler):
    async def get_response_async(self, request):
        return self.get_response(request)

class Pooled(base.SyncChainHandler):
    """each request on a long-lived single-thread executor taken from a free list"""
    def __init__(self):
        super().__init__()
        self.free = []
    async def __call__(self, scope, receive, send):
        ex = self.free.pop() if self.free else ThreadPoolExecutor(max_workers=1)
        try:
            async with ThreadSensitiveContext(executor=ex):
                await self.handle(scope, receive, send)
        finally:
            self.free.append(ex)

h = {"base": base.django_application, "inline": Inline(), "pooled": Pooled()}[MODE]
async def application(scope, receive, send):
    if scope["type"] == "http" and base.LIVE_STREAM_PATH.match(scope["path"]):
        return await base.live_stream_application(scope, receive, send)
    return await h(scope, receive, send)
