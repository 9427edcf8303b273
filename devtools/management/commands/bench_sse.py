"""N concurrent SSE subscribers on one uvicorn process: delivery lag (p50/p99) and memory per connection, beside
their anchors from the same run.

    python manage.py bench_sse --yes [--subscribers 1000 --events 20]

Two uvicorn processes on loopback, one after the other (Redis carries the events, as in production):

1. the anchor: N idle streams of a plain async Django view (devtools.bench_urls) — memory per connection;
2. the floor: N streams of `GET /bench/fanout/<login>` (devtools.bench_asgi): a bare ASGI fan-out of one Redis
   subscription, no Django — the same rounds, the same clients; its lag is what a fan-out that only writes costs on
   this machine, the reference the product's lag is read against;
3. the product: N subscribers of `GET /api/crm/accounts/<login>/stream` (staff token, spread over 50 demo
   accounts); events go out through `send_event` (Redis), one per account per round and a round every 500 ms,
   each stamped with its own send time; per subscriber and event, the lag is arrival − send. Memory per
   connection is the growth of the server's RSS divided by the subscribers.

The subscribers are asyncio protocols on raw sockets (no task per stream; events parsed only once complete, so a
stamp split across reads is not lost), spread over `--client-processes` processes (default 2) so that the client is
not what limits the lag. The client shares the machine with the server: its CPU time is printed beside the server's.
Needs REDIS_URL and a scratch database with seed_demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import re
import statistics
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ledger.models import TradingAccount
from teams.models import User
from teams.tokens import token_issue

CADENCE = 0.5
STAMP = re.compile(rb'"bench_sent": ([0-9.]+)')


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_seconds(pid: int, kernel: bool = False) -> float:
    """CPU time of a process (user + system), or its system (kernel) time only."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[12]) + (0 if kernel else int(fields[11]))) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, max(0, int(round(len(values) * p)) - 1))]


class Command(BaseCommand):
    help = "Benchmark the live feed: N concurrent SSE subscribers on one uvicorn process (lag, memory)."

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=1000)
        parser.add_argument("--events", type=int, default=20)
        parser.add_argument("--client-processes", type=int, default=2,
                            help="processes the subscribers are spread over (the client must not be the bottleneck)")
        parser.add_argument("--yes", action="store_true")

    def handle(self, *args, subscribers, events, yes, client_processes, **options):
        procs = max(1, min(client_processes, subscribers))
        if not yes or not settings.REDIS_URL:
            raise CommandError("Needs REDIS_URL and --yes (run it on a scratch database with seed_demo).")
        from devtools.testing import free_port, running, uvicorn_cmd

        admin = User.objects.filter(email="admin@demo.test").first()
        if admin is None:
            raise CommandError("Run seed_demo first.")

        key = token_issue(user=admin, name="bench_sse")[1]
        logins = list(TradingAccount.objects.values_list("login", flat=True)[:50])
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="devtools.bench_settings", DEBUG="true")

        def serve(name):
            port = free_port()
            return port, running(uvicorn_cmd(port), env=env, ready_url=f"http://127.0.0.1:{port}/api/health",
                                 log_name=name)

        port, server = serve("bench-sse-anchor")
        with server as proc:
            time.sleep(1.0)
            base = rss_kb(proc.pid)
            held, _, info = self.measure(port, None, "/bench/idle-stream", [0], subscribers, 0, proc.pid, procs)
            anchor_kib = (info["rss"] - base) / max(held, 1)

        import redis

        from devtools.bench_asgi import FANOUT_CHANNEL

        bus = redis.Redis.from_url(settings.REDIS_URL)

        def floor_publish(login):
            bus.publish(FANOUT_CHANNEL, f'{login} {{"bench_sent": {time.time()}}}')

        port = free_port()
        floor_cmd = [part if part != "brokercrm.asgi:application" else "devtools.bench_asgi:application"
                     for part in uvicorn_cmd(port)]
        with running(floor_cmd, env=env, ready_url=f"http://127.0.0.1:{port}/api/health",
                     log_name="bench-sse-floor") as proc:
            time.sleep(1.0)
            floor_connected, floor_lags, floor = self.measure(port, None, "/bench/fanout/{login}", logins,
                                                              subscribers, events, proc.pid, procs, floor_publish)
        floor_lags.sort()

        from django_eventstream import send_event

        def product_publish(login):
            send_event(f"account-{login}", "state", {"bench_sent": time.time()})

        port, server = serve("bench-sse")
        with server as proc:
            time.sleep(1.0)
            base = rss_kb(proc.pid)
            connected, lags, info = self.measure(port, key, "/api/crm/accounts/{login}/stream", logins, subscribers,
                                                 events, proc.pid, procs, product_publish)
        per_conn = (info["rss"] - base) / max(connected, 1)
        expected = connected * events
        lags.sort()
        w = self.stdout.write
        w(f"{connected} subscribers on one uvicorn process, {len(logins)} accounts, one event per account every "
          f"{CADENCE * 1000:.0f} ms (the cadence, the anchor of the lag), {events} rounds")
        w(f"deliveries: {len(lags)} of {expected} ({len(lags) / max(expected, 1):.1%})")
        if lags:
            w(f"delivery lag: p50 {statistics.median(lags):.1f} ms, p99 {pct(lags, 0.99):.1f} ms, "
              f"max {lags[-1]:.1f} ms   [goal p99 ≤ 100 ms at the {CADENCE * 1000:.0f} ms cadence]")
        if floor_lags:
            w(f"floor, same run: a bare ASGI fan-out without Django (same uvicorn, clients and rounds; "
              f"{floor_connected} streams): p50 {statistics.median(floor_lags):.1f} ms, "
              f"p99 {pct(floor_lags, 0.99):.1f} ms, {len(floor_lags)} of {floor_connected * events} delivered; "
              f"server CPU {floor['cpu'] / max(len(floor_lags), 1) * 1e6:.0f} µs per delivered event, "
              f"{floor.get('sys', 0) / max(len(floor_lags), 1) * 1e6:.0f} µs of it in the kernel")
        w(f"memory: {per_conn:.1f} KiB per connection (server RSS {base / 1024:.1f} → {info['rss'] / 1024:.1f} MiB)"
          f"   [anchor: an idle async Django stream {anchor_kib:.1f} KiB, same run; goal ≤ 50 KiB]")
        per_event = info["cpu"] / max(len(lags), 1) * 1e6
        w(f"CPU while events flowed: server {info['cpu']:.2f} s, {info.get('sys', 0):.2f} s of it in the kernel "
          f"({per_event:.0f} µs per delivered event), bench "
          f"clients {info['client_cpu']:.2f} s ({procs} processes), over {info['wall']:.2f} s; slowest round "
          f"published in {info['send'] * 1000:.0f} ms (the machine's load: {os.getloadavg()[0]:.1f} on "
          f"{os.cpu_count()} cores)")

    def measure(self, port, key, path, logins, n, events, pid, procs, publish=None):
        """Open n streams from `procs` client processes; with events, publish and time them.

        Returns (connected, lags in ms, info: server RSS and CPU, clients' CPU, wall time of the event phase)."""
        auth = f"Authorization: Token {key}\r\n" if key else ""
        requests = [f"GET {path.format(login=logins[i % len(logins)])} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
                    "Accept: text/event-stream\r\n\r\n".encode() for i in range(n)]
        ctx = multiprocessing.get_context("fork")
        pipes, children = [], []
        for k in range(procs):
            mine, theirs = ctx.Pipe()
            child = ctx.Process(target=_client, args=(theirs, port, requests[k::procs], events), daemon=True)
            child.start()
            pipes.append(mine)
            children.append(child)
        started = time.monotonic()
        timeout = max(180, n * 0.12)
        connected = failed = 0
        for pipe in pipes:  # each child says how many of its streams opened (all, or when it gave up)
            if pipe.poll(max(1.0, timeout - (time.monotonic() - started))):
                _, opened, refused = pipe.recv()
                connected, failed = connected + opened, failed + refused
        self.stdout.write(f"{path}: {connected} of {n} streams open in {time.monotonic() - started:.1f} s, "
                          f"{failed} failed ({procs} client processes; load {os.getloadavg()[0]:.1f})")
        time.sleep(2.0)
        info = {"rss": rss_kb(pid), "cpu": 0.0, "wall": 0.0, "client_cpu": 0.0, "send": 0.0}
        lags: list[float] = []
        if events:
            for pipe in pipes:
                pipe.send("go")
            cpu0, sys0, wall0 = cpu_seconds(pid), cpu_seconds(pid, kernel=True), time.monotonic()
            for _ in range(events):  # a round, then the cadence: each account's events ≥ 500 ms apart
                t0 = time.monotonic()
                for login in logins:
                    publish(login)
                info["send"] = max(info["send"], time.monotonic() - t0)
                time.sleep(CADENCE)
            deadline = time.monotonic() + 10  # children say "done" once all their streams have every event
            for pipe in pipes:
                while pipe.poll(max(0.0, deadline - time.monotonic())) and pipe.recv()[0] != "done":
                    pass
            info.update(cpu=cpu_seconds(pid) - cpu0, sys=cpu_seconds(pid, kernel=True) - sys0,
                        wall=time.monotonic() - wall0)
        for pipe in pipes:
            pipe.send("stop")
        for pipe in pipes:
            while pipe.poll(30):
                message = pipe.recv()
                if message[0] == "result":
                    lags.extend(message[1])
                    info["client_cpu"] += message[2]
                    break
        for child in children:
            child.join(5)
            if child.is_alive():
                child.kill()
        return connected, lags, info


class _Stream(asyncio.Protocol):
    """One subscriber: a raw socket that parses the response as it arrives (no task per stream)."""

    def __init__(self, request, client):
        self.request, self.client = request, client
        self.buf = b""
        self.state = 0  # 0 head, 1 until stream-open, 2 events
        self.got = 0
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.write(self.request)

    def data_received(self, data):
        now = time.time()
        buf = self.buf + data
        if self.state == 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            if not buf.startswith(b"HTTP/1.1 200"):
                self.client.failed += 1
                self.client.settle()
                self.transport.close()
                return
            self.state, buf = 1, buf[end + 4:]
        if self.state == 1:
            at = buf.find(b"event: stream-open")
            if at < 0:
                self.buf = buf[-32:]
                return
            self.state, buf = 2, buf[at + 18:]
            self.client.opened(self)
        cut = buf.rfind(b"\n\n")  # complete events only: a stamp may be split across reads
        if cut < 0:
            self.buf = buf
            return
        self.buf = buf[cut + 2:]
        stamps = STAMP.findall(buf, 0, cut)
        if stamps:
            lags = self.client.lags
            for stamp in stamps:
                lags.append((now - float(stamp)) * 1000)
            self.got += len(stamps)
            if self.got >= self.client.events:
                self.client.finished(self)

    def connection_lost(self, exc):
        if self.state < 2:
            self.client.failed += 1
            self.client.settle()
        self.client.lost(self)


class _Client:
    def __init__(self, loop, events):
        self.loop, self.events = loop, events
        self.lags: list[float] = []
        self.open = 0
        self.failed = 0
        self.pending: set[_Stream] = set()
        self.all_open = loop.create_future()
        self.all_done = loop.create_future()
        self.expected = 0

    def opened(self, stream):
        self.open += 1
        self.pending.add(stream)
        self.settle()

    def settle(self):
        if self.open + self.failed >= self.expected and not self.all_open.done():
            self.all_open.set_result(None)

    def finished(self, stream):
        self.pending.discard(stream)
        if not self.pending and not self.all_done.done():
            self.all_done.set_result(None)

    def lost(self, stream):
        self.finished(stream)


def _client(pipe, port, requests, events):
    """A client process: open its streams, report, then on "go" time events until all arrived or "stop"."""
    try:
        import uvloop

        loop = uvloop.new_event_loop()
    except ImportError:  # pragma: no cover
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    client = _Client(loop, events)
    client.expected = len(requests)
    streams = []

    async def connect(request, gate):
        async with gate:
            for attempt in range(12):  # a loaded machine accepts slowly: the backlog overflows, connects time out
                try:
                    _, stream = await asyncio.wait_for(
                        loop.create_connection(lambda: _Stream(request, client), "127.0.0.1", port), 30)
                    streams.append(stream)
                    return
                except (OSError, TimeoutError):
                    await asyncio.sleep(min(0.2 * (attempt + 1), 2.0))
            client.failed += 1
            client.settle()

    async def main():
        gate = asyncio.Semaphore(256)  # connects in flight (the listen backlog stays small)
        connecting = asyncio.gather(*(connect(r, gate) for r in requests))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(client.all_open), timeout=max(180, len(requests) * 0.24))
        pipe.send(("open", client.open, client.failed))
        command = await loop.run_in_executor(None, pipe.recv)
        cpu0 = time.process_time()
        if command == "go" and events:
            if not client.pending and not client.all_done.done():
                client.all_done.set_result(None)
            stop = loop.run_in_executor(None, pipe.recv)
            await asyncio.wait([client.all_done, stop], return_when=asyncio.FIRST_COMPLETED)
            if not stop.done():
                pipe.send(("done",))
                await stop
        cpu = time.process_time() - cpu0
        pipe.send(("result", client.lags, cpu))
        for stream in streams:
            stream.transport.close()
        connecting.cancel()
        with contextlib.suppress(BaseException):
            await connecting

    loop.run_until_complete(main())
