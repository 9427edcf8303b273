"""The product's URLs plus anchors the benchmarks measure against in the same run (never served in production)."""

import asyncio

from django.http import StreamingHttpResponse
from django.urls import path
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.urls import urlpatterns as product


async def idle_stream(request):
    """The anchor of bench_sse: a plain async Django view holding an idle event stream."""

    async def body():
        yield b":" + b" " * 2048 + b"\n\nevent: stream-open\ndata:\n\n"
        while True:
            await asyncio.sleep(3600)
            yield b"event: keep-alive\ndata:\n\n"

    return StreamingHttpResponse(body(), content_type="text/event-stream")


class PlainView(APIView):
    """The anchor of bench_postings: a plain DRF view behind the same stack and token authentication."""

    def post(self, request):
        return Response({"ok": True, "user": request.user.pk}, status=201)


urlpatterns = [*product, path("bench/idle-stream", idle_stream), path("bench/plain-drf", PlainView.as_view())]
