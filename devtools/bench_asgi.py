"""The product's ASGI application plus the bare anchors of bench_postings and bench_sse (never served in production).

`POST /bench/bare` is answered by a few lines of ASGI with no Django at all: with the same clients and uvicorn
workers it measures what HTTP alone costs on the machine, the ceiling no endpoint can pass. `GET /bench/worker`
answers the serving process's id: a bench client keeps a connection only once it reaches the worker it should load
(see bench_postings).

`GET /bench/fanout/<login>` is the live feed's floor (a reference, not a strict bound): the fewest lines of ASGI
that fan one Redis subscription out to streams — no Django, no authentication, no scope, no throttle. One
subscription per process (channel `FANOUT_CHANNEL`, messages `<login> <JSON>`); each message becomes one SSE event,
encoded once and awaited on every stream of that login in turn through uvicorn's `send`. With the same clients,
uvicorn and machine it measures what a fan-out costs when it does nothing but write; the product's own lag beside it
shows what the product adds (within the run's noise it can even come out a little lower: its hub steps each send in
place)."""

import asyncio
import os

from brokercrm.asgi import application as product

FANOUT_CHANNEL = "bench-fanout-floor"
_streams: dict[bytes, set] = {}
_listener: list[asyncio.Task] = []


async def _listen(ready: asyncio.Event) -> None:
    import redis.asyncio as aioredis

    client = aioredis.from_url(os.environ["REDIS_URL"])
    pubsub = client.pubsub()
    await pubsub.subscribe(FANOUT_CHANNEL)
    ready.set()
    async for message in pubsub.listen():
        if message["type"] != "message":
            continue
        login, _, payload = message["data"].partition(b" ")
        event = {"type": "http.response.body", "body": b"event: state\ndata: " + payload + b"\n\n",
                 "more_body": True}
        for stream_send in list(_streams.get(login, ())):
            await stream_send(event)


async def _fanout_stream(login: bytes, receive, send) -> None:
    if not _listener:
        ready = asyncio.Event()
        _listener.append(asyncio.get_running_loop().create_task(_listen(ready)))
        await ready.wait()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"text/event-stream"), (b"cache-control", b"no-cache")]})
    await send({"type": "http.response.body", "body": b"event: stream-open\ndata: {}\n\n", "more_body": True})
    _streams.setdefault(login, set()).add(send)
    try:
        while (await receive())["type"] != "http.disconnect":
            pass
    finally:
        _streams[login].discard(send)


async def application(scope, receive, send):
    if scope["type"] == "http" and scope["path"].startswith("/bench/fanout/"):
        await _fanout_stream(scope["path"].rsplit("/", 1)[1].encode(), receive, send)
        return
    if scope["type"] == "http" and scope["path"] == "/bench/bare":
        while (await receive()).get("more_body"):
            pass
        await send({"type": "http.response.start", "status": 201,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", b"11")]})
        await send({"type": "http.response.body", "body": b'{"ok":true}'})
        return
    if scope["type"] == "http" and scope["path"] == "/bench/worker":
        body = str(os.getpid()).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
        return
    await product(scope, receive, send)
