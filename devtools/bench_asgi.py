"""The product's ASGI application plus the bare anchor of bench_postings (never served in production).

`POST /bench/bare` is answered by a few lines of ASGI with no Django at all: with the same clients and uvicorn
workers it measures what HTTP alone costs on the machine, the ceiling no endpoint can pass. `GET /bench/worker`
answers the serving process's id: a bench client keeps a connection only once it reaches the worker it should load
(see bench_postings)."""

import os

from brokercrm.asgi import application as product


async def application(scope, receive, send):
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
