"""The live feed's per-process fan-out: one Redis subscription per process, streams woken in-process.

django-eventstream stays the API and the wire format: producers call `send_event`, which publishes on its Redis
pub/sub channel (`events_channel`, JSON `{channel, event_type, data, pub_id}`), and streams speak its SSE dialect
(the 2 KiB padding comment, `event: stream-open`, `event: <type>` + `data:` lines, `event: keep-alive` every 20 s).
What changes is the serving side. django-eventstream gives every stream its own listener, woken from its Redis
reader with `call_soon_threadsafe`, a fresh task per wake-up (`asyncio.wait` on an `Event`), a permission re-read
through `sync_to_async` on overflow, and our throttle wrapped one more task and queue around each stream. Here:

- one `Hub` per process (per event loop) reads Redis once, keeps per account the set of streams watching it, and
  applies the 500 ms throttle once per account (the latest state wins; an unsent state goes out when the interval
  ends), encoding each event once and handing the same bytes to every stream;
- a stream is a `Subscriber` (a few slots) that the hub writes to in place through the connection's ASGI `send`
  (`serve_stream`, under brokercrm.asgi), or an async generator over its buffer (`stream`, Django's own handler);
- one timer per process sends keep-alives and refreshes the "watched" marks of every account with a stream
  (one Redis call for all of them), instead of one timer per stream.

Without Redis (the embedded default) the hub taps django-eventstream's in-process listener manager instead, as
one listener for all the channels it watches. Channels are not reliable (crm.channels), so there is no
Last-Event-ID replay: a missed state is superseded by the next one.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging

from django.conf import settings
from django.http import StreamingHttpResponse
from django_eventstream.utils import sse_encode_event

log = logging.getLogger(__name__)

EVENTS_CHANNEL = "events_channel"  # django-eventstream's Redis pub/sub channel (fixed by the library)
OPEN = (":" + " " * 2048 + "\n\n" + "event: stream-open\ndata:\n\n").encode()
KEEP_ALIVE = b"event: keep-alive\ndata:\n\n"
KEEP_ALIVE_EVERY = 20.0
MAX_BUFFER = 10  # chunks a slow stream may hold; past it the oldest go (the latest state always stays)


def body(chunk: bytes) -> dict:
    """The ASGI message that writes `chunk` on a stream (built once per event, shared by every stream)."""
    return {"type": "http.response.body", "body": chunk, "more_body": True}


OPEN_MESSAGE = body(OPEN)
KEEP_ALIVE_MESSAGE = body(KEEP_ALIVE)


class Subscriber:
    """One stream's slot in the hub.

    Generator mode (Django's streaming loop, `stream()`): chunks wait in `buffer` until the stream takes them.
    Direct mode (`serve_stream` under brokercrm.asgi): `send` is the connection's ASGI send and the hub writes each
    event through it at once, from its own callback: the send coroutine is stepped in place, so a write that does not
    have to wait (the usual case: the socket takes it) costs no task wake-up, future or loop iteration. A write that
    has to wait (the server's flow control paused a client that stopped reading) is finished by a task started for
    it (`finisher`); meanwhile further chunks wait in `buffer` (at most MAX_BUFFER, the oldest dropped) and then go
    out in one write. No other stream waits for it."""

    __slots__ = ("buffer", "waiter", "channel", "send", "busy", "finisher")

    def __init__(self, channel: str):
        self.channel = channel
        self.buffer: list[bytes] = []
        self.waiter: asyncio.Future | None = None
        self.send = None  # direct mode: the ASGI send
        # None: the hub writes directly. Otherwise chunks are buffered: True (generator mode, the opening, catching
        # up, or a stream whose send failed) or the (send coroutine, what it awaits) of a write that had to wait.
        self.busy: object = True
        self.finisher: asyncio.Task | None = None

    def push(self, chunk: bytes, message: dict | None = None) -> None:
        if self.busy is None:  # direct mode, nothing in flight: write now
            coro = self.send(message if message is not None else body(chunk))
            try:
                awaiting = coro.send(None)
            except StopIteration:
                return  # written (or the client is gone: uvicorn's send then does nothing)
            except Exception:
                self.busy = True  # not written again; the stream ends when its client goes
                log.warning("live feed: a stream's write failed", exc_info=True)
                return
            self.busy = (coro, awaiting)
            self.finisher = asyncio.get_running_loop().create_task(self._finish())
            return
        self.buffer.append(chunk)
        if len(self.buffer) > MAX_BUFFER:
            del self.buffer[0]
        waiter = self.waiter
        if waiter is not None and not waiter.done():
            self.waiter = None
            waiter.set_result(None)

    async def next(self, loop) -> bytes:
        while not self.buffer:
            self.waiter = loop.create_future()
            await self.waiter
        return self.buffer.pop(0)

    async def _finish(self) -> None:
        """Direct mode: finish the write that had to wait (the client reads again, or left), then send what came
        meanwhile in one write, and hand the writes back to the hub."""
        busy, send = self.busy, self.send
        try:
            if isinstance(busy, tuple):
                coro, awaiting = busy
                try:
                    while True:
                        if awaiting is None:  # a bare yield (asyncio.sleep(0))
                            await asyncio.sleep(0)
                        else:  # an asyncio future: wait for it as a task would (the same protocol flag)
                            awaiting._asyncio_future_blocking = False
                            await awaiting
                        try:
                            awaiting = coro.send(None)
                        except StopIteration:
                            break
                finally:
                    coro.close()
            while self.buffer:
                chunk = b"".join(self.buffer)
                self.buffer.clear()
                self.busy = True
                await send(body(chunk))
            self.busy = None
        except Exception:
            self.busy = True
            log.warning("live feed: a stream's write failed", exc_info=True)
        finally:
            self.finisher = None


class _Account:
    __slots__ = ("subscribers", "last_sent", "pending", "timer")

    def __init__(self):
        self.subscribers: set[Subscriber] = set()
        self.last_sent = -1e9
        self.pending: bytes | None = None
        self.timer: asyncio.TimerHandle | None = None


class Hub:
    """Everything one process's streams share. Created lazily on the serving event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop):
        self.loop = loop
        self.channels: dict[str, _Account] = {}
        # The producer's own guard (feed.publish_state) allows the same 20 ms of timer jitter.
        self.interval = max(settings.ACCOUNT_STREAM_MIN_INTERVAL_MS - 20, 1) / 1000
        self.received = 0  # events read from Redis or the local tap (tests and the bench read it)
        self.subscriptions = 0  # Redis subscriptions this hub opened (one per process)
        self._tasks: list[asyncio.Task] = []
        self._tap = None
        if getattr(settings, "EVENTSTREAM_REDIS", None):
            self._tasks.append(loop.create_task(self._read_redis()))
        else:
            self._tap = _LocalTap(self)
        self._tasks.append(loop.create_task(self._tick()))

    # --- streams ----------------------------------------------------------------------------------------------
    def subscribe(self, channel: str) -> Subscriber:
        sub = Subscriber(channel)
        account = self.channels.get(channel)
        if account is None:
            account = self.channels[channel] = _Account()
            if self._tap is not None:
                self._tap.add(channel)
        account.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        account = self.channels.get(sub.channel)
        if account is None:
            return
        account.subscribers.discard(sub)
        if not account.subscribers:
            del self.channels[sub.channel]
            if account.timer is not None:
                account.timer.cancel()
            if self._tap is not None:
                self._tap.remove(sub.channel)

    # --- events -----------------------------------------------------------------------------------------------
    def dispatch(self, channel: str, event_type: str, data: str) -> None:
        """An event for `channel` (data already JSON): state events at most once per interval per account."""
        self.received += 1
        account = self.channels.get(channel)
        if account is None:
            return
        chunk = sse_encode_event(event_type, data).encode()  # once per event, whatever the number of streams
        if event_type != "state":
            self._deliver(account, chunk)
            return
        now = self.loop.time()
        if account.timer is None and now - account.last_sent >= self.interval:
            account.last_sent = now
            self._deliver(account, chunk)
            return
        account.pending = chunk  # a newer state supersedes an unsent one
        if account.timer is None:
            account.timer = self.loop.call_at(account.last_sent + self.interval, self._flush, account)

    def _flush(self, account: _Account) -> None:
        account.timer = None
        chunk, account.pending = account.pending, None
        if chunk is not None:
            account.last_sent = self.loop.time()
            self._deliver(account, chunk)

    @staticmethod
    def _deliver(account: _Account, chunk: bytes, message: dict | None = None) -> None:
        message = message or body(chunk)  # one ASGI message for every stream of the account
        for sub in account.subscribers:
            sub.push(chunk, message)

    async def _read_redis(self) -> None:
        from redis.asyncio import Redis

        while True:
            client = Redis(**settings.EVENTSTREAM_REDIS)
            try:
                pubsub = client.pubsub()
                await pubsub.subscribe(EVENTS_CHANNEL)
                self.subscriptions += 1
                async for message in pubsub.listen():
                    if message["type"] != "message":
                        continue
                    try:
                        event = json.loads(message["data"])
                        self.dispatch(event["channel"], event["event_type"], event["data"])
                    except (ValueError, KeyError, TypeError):
                        log.warning("live feed: an unreadable message on %s was skipped", EVENTS_CHANNEL)
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis went away: streams stay open, the subscription comes back
                log.warning("live feed: the Redis subscription dropped; reconnecting", exc_info=True)
                await asyncio.sleep(1.0)
            finally:
                with contextlib.suppress(Exception):
                    await client.aclose()

    async def _tick(self) -> None:
        """Keep-alives every 20 s and the watched marks of every account with a stream, for the whole process."""
        from .feed import WATCH_REFRESH, watch_many

        last_keep_alive = self.loop.time()
        while True:
            await asyncio.sleep(WATCH_REFRESH)
            logins = [int(c[8:]) for c in self.channels if c.startswith("account-") and c[8:].isdigit()]
            if logins:
                try:
                    await asyncio.to_thread(watch_many, logins)
                except Exception:
                    log.warning("live feed: could not refresh the watched marks", exc_info=True)
            if self.loop.time() - last_keep_alive >= KEEP_ALIVE_EVERY - 0.5:
                last_keep_alive = self.loop.time()
                for account in self.channels.values():
                    self._deliver(account, KEEP_ALIVE, KEEP_ALIVE_MESSAGE)


class _LocalTap:
    """The embedded default (no Redis): one django-eventstream listener for all of the hub's channels."""

    def __init__(self, hub: Hub):
        from django_eventstream.views import get_listener_manager

        self.hub = hub
        self.manager = get_listener_manager()
        self.user_id = None
        self.channels: set[str] = set()
        self.channel_items: dict = {}
        self.overflow = False
        self.error = ""

    def add(self, channel: str) -> None:
        with self.manager.lock:
            self.manager.listeners_by_channel.setdefault(channel, set()).add(self)

    def remove(self, channel: str) -> None:
        with self.manager.lock:
            listeners = self.manager.listeners_by_channel.get(channel)
            if listeners is not None:
                listeners.discard(self)
                if not listeners:
                    del self.manager.listeners_by_channel[channel]

    def wake_threadsafe(self) -> None:  # called by send_event from any thread
        self.hub.loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self.manager.lock:
            items, self.channel_items, self.overflow = self.channel_items, {}, False
        for channel, events in items.items():
            for event in events:
                self.hub.dispatch(channel, event.type, event.data)


_hubs: dict[asyncio.AbstractEventLoop, Hub] = {}


def hub() -> Hub:
    """This event loop's hub (one per process under uvicorn; tests that run several loops get one each)."""
    loop = asyncio.get_running_loop()
    current = _hubs.get(loop)
    if current is None:
        for old in [lp for lp in _hubs if lp.is_closed()]:
            del _hubs[old]
        current = _hubs[loop] = Hub(loop)
    return current


class LiveStreamResponse(StreamingHttpResponse):
    """A live stream's response. Served through Django's ASGI handler it streams `stream(channel)` like any
    streaming response; brokercrm.asgi's stream handler instead sends its headers, lets the request and the response
    go, and awaits `live_stream(send, receive)` (`serve_stream`), whose events the hub writes straight to `send`."""

    def __init__(self, channel: str):
        super().__init__(stream(channel), content_type="text/event-stream")
        self.channel = channel
        self.live_stream = functools.partial(serve_stream, channel)  # holds the channel only, not the response


async def serve_stream(channel: str, send, receive) -> None:
    """A live stream's body after its headers: the opening, then the hub writes its events through `send` until the
    client goes (`receive` answers `http.disconnect`). Nothing runs for this stream in between: it waits on its
    connection's `receive`, the only future it holds."""
    current = hub()
    sub = current.subscribe(channel)
    try:
        await send(OPEN_MESSAGE)
        sub.send = send
        if sub.buffer:  # events that came during the opening
            sub.finisher = current.loop.create_task(sub._finish())
        else:
            sub.busy = None
        while (await receive())["type"] != "http.disconnect":
            pass
    finally:
        current.unsubscribe(sub)
        if sub.finisher is not None:
            sub.finisher.cancel()


async def stream(channel: str):
    """One stream's body: the opening, then whatever this process's hub hands it, until the client goes."""
    current = hub()
    sub = current.subscribe(channel)
    try:
        yield OPEN
        loop = current.loop
        while True:
            yield await sub.next(loop)
    finally:
        current.unsubscribe(sub)
