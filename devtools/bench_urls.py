"""The product's URLs plus anchors the benchmarks measure against in the same run (never served in production)."""

import asyncio

from django.http import StreamingHttpResponse
from django.urls import path

from brokercrm.urls import urlpatterns as product


async def idle_stream(request):
    """The anchor of bench_sse: a plain async Django view holding an idle event stream."""

    async def body():
        yield b":" + b" " * 2048 + b"\n\nevent: stream-open\ndata:\n\n"
        while True:
            await asyncio.sleep(3600)
            yield b"event: keep-alive\ndata:\n\n"

    return StreamingHttpResponse(body(), content_type="text/event-stream")


urlpatterns = [*product, path("bench/idle-stream", idle_stream)]
