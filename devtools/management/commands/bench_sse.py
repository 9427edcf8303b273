"""N concurrent SSE subscribers on one uvicorn process: delivery lag (p50/p99) and memory per connection, beside
their anchors from the same run.

    python manage.py bench_sse --yes [--subscribers 1000 --events 20]

Two uvicorn processes on loopback, one after the other (Redis carries the events, as in production):

1. the anchor: N idle streams of a plain async Django view (devtools.bench_urls) — memory per connection;
2. the product: N subscribers of `GET /api/crm/accounts/<login>/stream` (staff token, spread over 50 demo
   accounts); events go out through `send_event` (Redis), one per account per round and a round every 500 ms,
   each stamped with its own send time; per subscriber and event, the lag is arrival − send. Memory per
   connection is the growth of the server's RSS divided by the subscribers.

The subscribers are raw asyncio sockets (one small buffer each), so the client's own cost stays out of the lag.
Needs REDIS_URL and a scratch database with seed_demo.
"""

from __future__ import annotations

import asyncio
import contextlib
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


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], p: float) -> float:
    return values[min(len(values) - 1, max(0, int(round(len(values) * p)) - 1))]


class Command(BaseCommand):
    help = "Benchmark the live feed: N concurrent SSE subscribers on one uvicorn process (lag, memory)."

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=1000)
        parser.add_argument("--events", type=int, default=20)
        parser.add_argument("--yes", action="store_true")

    def handle(self, *args, subscribers, events, yes, **options):
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
            held, _, info = asyncio.run(self.measure(port, None, "/bench/idle-stream", [0], subscribers, 0, proc.pid))
            anchor_kib = (info["rss"] - base) / max(held, 1)

        port, server = serve("bench-sse")
        with server as proc:
            time.sleep(1.0)
            base = rss_kb(proc.pid)
            connected, lags, info = asyncio.run(
                self.measure(port, key, "/api/crm/accounts/{login}/stream", logins, subscribers, events, proc.pid))
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
        w(f"memory: {per_conn:.1f} KiB per connection (server RSS {base / 1024:.1f} → {info['rss'] / 1024:.1f} MiB)"
          f"   [anchor: an idle async Django stream {anchor_kib:.1f} KiB, same run; goal ≤ 50 KiB]")
        w(f"CPU while events flowed: server {info['cpu']:.2f} s, bench client {info['client_cpu']:.2f} s, "
          f"over {info['wall']:.2f} s (the machine's load: {os.getloadavg()[0]:.1f})")

    async def measure(self, port, key, path, logins, n, events, pid):
        """Open n streams (raw sockets); with events, publish and time them. (connected, lags, info)."""
        from django_eventstream import send_event

        lags: list[float] = []
        connected = 0
        all_open = asyncio.Event()
        auth = f"Authorization: Token {key}\r\n" if key else ""

        async def subscriber(i):
            nonlocal connected
            login = logins[i % len(logins)]
            for attempt in range(5):
                try:
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    break
                except OSError:
                    await asyncio.sleep(0.2 * (attempt + 1))
            else:
                return
            try:
                writer.write(f"GET {path.format(login=login)} HTTP/1.1\r\nHost: 127.0.0.1\r\n{auth}"
                             "Accept: text/event-stream\r\n\r\n".encode())
                head = await reader.readuntil(b"\r\n\r\n")
                if not head.startswith(b"HTTP/1.1 200"):
                    return
                await reader.readuntil(b"event: stream-open")
                connected += 1
                if connected == n:
                    all_open.set()
                got = 0
                while got < events:
                    chunk = await reader.read(65536)
                    if not chunk:
                        return
                    now = time.time()
                    for stamp in STAMP.findall(chunk):
                        lags.append((now - float(stamp)) * 1000)
                        got += 1
                if events == 0:
                    await asyncio.sleep(3600)
            finally:
                writer.close()

        started = time.monotonic()
        tasks = [asyncio.create_task(subscriber(i)) for i in range(n)]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_open.wait(), timeout=max(180, n * 0.12))
        self.stdout.write(f"{path}: {connected} of {n} streams open in {time.monotonic() - started:.1f} s")
        await asyncio.sleep(2.0)
        info = {"rss": rss_kb(pid), "cpu": 0.0, "wall": 0.0}
        if events:
            cpu0, wall0, mine0 = cpu_seconds(pid), time.monotonic(), cpu_seconds(os.getpid())
            for _ in range(events):  # a round, then the cadence: each account's events ≥ 500 ms apart
                await asyncio.to_thread(lambda: [send_event(f"account-{login}", "state", {"bench_sent": time.time()})
                                                 for login in logins])
                await asyncio.sleep(CADENCE)
            await asyncio.wait(tasks, timeout=10)
            info.update(cpu=cpu_seconds(pid) - cpu0, wall=time.monotonic() - wall0,
                        client_cpu=cpu_seconds(os.getpid()) - mine0)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        return connected, lags, info
