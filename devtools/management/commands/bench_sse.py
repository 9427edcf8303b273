"""1,000 concurrent SSE subscribers on one uvicorn process: delivery lag (p50/p99) and memory per connection.

    python manage.py bench_sse --yes [--subscribers 1000 --events 20]

Starts one uvicorn process on loopback (Redis carries the events, as in production), opens the subscribers with
one async HTTP client (staff token auth, spread over the demo accounts), then publishes events through Redis
stamped with their send time and measures, per subscriber and event, when it arrived. Memory per connection is
the growth of the server's RSS divided by the subscribers. Needs REDIS_URL and a scratch database with seed_demo.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import time
from pathlib import Path

import httpx
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from ledger.models import TradingAccount
from teams.models import User
from teams.tokens import token_issue


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Command(BaseCommand):
    help = "Benchmark the live feed: N concurrent SSE subscribers on one uvicorn process (lag, memory)."

    def add_arguments(self, parser):
        parser.add_argument("--subscribers", type=int, default=1000)
        parser.add_argument("--events", type=int, default=20)
        parser.add_argument("--yes", action="store_true")

    def handle(self, *args, subscribers, events, yes, **options):
        if not yes or not settings.REDIS_URL:
            raise CommandError("Needs REDIS_URL and --yes (run it on a scratch database with seed_demo).")
        import os

        from devtools.testing import free_port, running, uvicorn_cmd

        admin = User.objects.filter(email="admin@demo.test").first()
        if admin is None:
            raise CommandError("Run seed_demo first.")

        key = token_issue(user=admin, name="bench_sse")[1]
        logins = list(TradingAccount.objects.values_list("login", flat=True)[:50])
        port = free_port()
        env = dict(os.environ, DJANGO_SETTINGS_MODULE="brokercrm.settings", DEBUG="true")
        with running(uvicorn_cmd(port), env=env, ready_url=f"http://127.0.0.1:{port}/api/health",
                     log_name="bench-sse") as proc:
            time.sleep(1.0)
            base_rss = rss_kb(proc.pid)
            lags, connected, server_rss = asyncio.run(self.measure(port, key, logins, subscribers, events, proc.pid))
        lags.sort()
        per_conn = (server_rss - base_rss) / max(connected, 1)
        self.stdout.write(f"{connected} subscribers connected to one uvicorn process; "
                          f"{len(lags)} deliveries of {events} events")
        if lags:
            self.stdout.write(f"delivery lag: p50 {statistics.median(lags):.1f} ms, "
                              f"p99 {lags[int(len(lags) * 0.99) - 1]:.1f} ms, max {lags[-1]:.1f} ms")
        self.stdout.write(f"server RSS {base_rss / 1024:.1f} MiB idle → {server_rss / 1024:.1f} MiB with subscribers: "
                          f"{per_conn:.1f} KiB per connection")

    async def measure(self, port, key, logins, n, events, pid):
        from django_eventstream import send_event

        lags: list[float] = []
        ready = asyncio.Event()
        connected = 0
        limits = httpx.Limits(max_connections=n + 10, max_keepalive_connections=n + 10)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits,
                                     timeout=httpx.Timeout(120, connect=60)) as client:

            async def subscriber(i):
                nonlocal connected
                login = logins[i % len(logins)]
                async with client.stream("GET", f"/api/crm/accounts/{login}/stream",
                                         headers={"Authorization": f"Token {key}"}) as response:
                    connected += 1
                    if connected == n:
                        ready.set()
                    got = 0
                    async for line in response.aiter_lines():
                        if line.startswith("data:") and '"bench_sent"' in line:
                            lags.append((time.time() - json.loads(line[5:])["bench_sent"]) * 1000)
                            got += 1
                            if got >= events:
                                return

            tasks = [asyncio.create_task(subscriber(i)) for i in range(n)]
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(ready.wait(), timeout=120)
            await asyncio.sleep(2.0)
            server_rss = rss_kb(pid)
            for _ in range(events):
                sent = time.time()
                await asyncio.to_thread(lambda sent=sent: [send_event(f"account-{login}", "state", {"bench_sent": sent})
                                                 for login in logins])
                await asyncio.sleep(0.5)
            await asyncio.wait(tasks, timeout=30)
            for task in tasks:
                task.cancel()
        return lags, connected, server_rss
