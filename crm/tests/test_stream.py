"""The live account feed over real HTTP: formulas, throttle, scope, and two web processes sharing Redis."""

from __future__ import annotations

import json
import threading
import time
from itertools import pairwise

import httpx
import pytest
from django.conf import settings

from crm.trading.adapter import Position, account_state
from customers.models import Customer
from devtools.testing import free_port, process_env, running, uvicorn_cmd

FIELDS = {"balance", "credit", "equity", "pnl", "margin_used", "free_margin", "margin_level", "currency"}


def test_state_formulas():
    positions = [Position("EURUSD", 1, 1.0, 1.0800, 100_000), Position("XAUUSD", -1, 0.1, 2000.0, 100)]
    state = account_state(balance="10000.00", credit="0.00", currency="USD", positions=positions,
                          prices={"EURUSD": 1.0825, "XAUUSD": 1990.0})
    assert state.pnl == 250.0 + 100.0
    # margin = price × lots × contract / leverage 100: 1082.50 + 199.00
    assert state.equity == 10350.0 and state.margin_used == 1281.5
    assert state.free_margin == 9068.5 and state.margin_level == round(10350 / 1281.5 * 100, 1)
    assert set(state.as_event()) == FIELDS
    empty = account_state(balance=5, credit=1, currency="EUR", positions=[], prices={})
    assert empty.margin_level is None and empty.free_margin == 6.0


def test_simulated_books_read_true():
    """Demo data: an empty account has no positions (no margin, no margin level); funded accounts use a modest
    share of their funds as margin, so the margin level reads far from a margin call."""
    from types import SimpleNamespace

    from crm.trading.simulator import SYMBOLS, Simulator, state_for

    platform = Simulator.__new__(Simulator)
    prices = {s: v[0] for s, v in SYMBOLS.items()}
    empty = state_for(SimpleNamespace(login=5000001, balance=0, credit=0, currency="USD"), platform, prices)
    assert empty["margin_used"] == 0 and empty["margin_level"] is None and empty["pnl"] == 0
    for login in range(5000001, 5000200):
        funded = state_for(SimpleNamespace(login=login, balance=2500, credit=0, currency="USD"), platform, prices)
        assert funded["margin_used"] <= 0.31 * 2500
        assert funded["margin_level"] is None or funded["margin_level"] > 300


def read_events(url, headers, seconds):
    """(arrival time, data) of each `event: state` within `seconds`."""
    out = []
    with httpx.stream("GET", url, headers=headers, timeout=httpx.Timeout(seconds + 5, read=seconds + 5)) as response:
        assert response.status_code == 200, response.read()
        deadline = time.monotonic() + seconds
        event = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:") and event == "state":
                out.append((time.monotonic(), json.loads(line[5:])))
            if time.monotonic() > deadline:
                break
    return out


def token(base, email):
    return httpx.post(f"{base}/api/auth/token", json={"email": email, "password": "demo-password"}).json()["token"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.skipif(not settings.REDIS_URL, reason="live events cross processes through Redis")
def test_throttle_scope_and_two_web_processes(demo_committed):
    customer = Customer.objects.filter(assigned_to=demo_committed["agent"]).first()
    login = customer.accounts.first().login
    latam = Customer.objects.filter(team__name="Sales LATAM").first().accounts.first().login
    env = process_env(REDIS_URL=settings.REDIS_URL)
    ports = [free_port(), free_port()]
    bases = [f"http://127.0.0.1:{p}" for p in ports]
    with (
        running(uvicorn_cmd(ports[0]), env=env, ready_url=f"{bases[0]}/api/health", log_name="sse-web1"),
        running(uvicorn_cmd(ports[1]), env=env, ready_url=f"{bases[1]}/api/health", log_name="sse-web2"),
        running([*uvicorn_cmd(0)[:1], "manage.py", "run_simulator"], env=env, log_name="sse-sim"),
    ):
        # The simulator is a separate process that may start after the web processes (a loaded machine): wait
        # until it publishes before timing the stream.
        from django.core.cache import cache

        from crm.trading.feed import STATE_KEY

        deadline = time.monotonic() + 60
        while cache.get(STATE_KEY.format(login=login)) is None and time.monotonic() < deadline:
            time.sleep(0.2)
        agent = {"Authorization": f"Token {token(bases[0], 'agent@demo.test')}"}
        # Scope: out of scope is 404, unauthenticated 401.
        assert httpx.get(f"{bases[0]}/api/crm/accounts/{latam}/stream", headers=agent).status_code == 404
        assert httpx.get(f"{bases[0]}/api/crm/accounts/{login}/stream").status_code == 401
        results = [None, None]

        def reader(i):
            results[i] = read_events(f"{bases[i]}/api/crm/accounts/{login}/stream", agent, 4.0)

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(2)]
        [t.start() for t in threads]
        [t.join() for t in threads]
        for events in results:  # both web processes deliver the simulator's events (Redis carries them)
            assert len(events) >= 5, len(events)
            assert len(events) <= 4.0 / 0.5 + 2
            # ≤ one event per 500 ms, seen from the client: arrival times carry the machine's jitter (a late event
            # arrives just before the next on-time one), so over any span of events the count is bounded, with
            # 0.3 s allowed for jitter, rather than each single gap.
            times = [at for at, _ in events]
            spans = [(j - i, times[j] - times[i]) for i in range(len(times)) for j in range(i + 1, len(times))]
            assert all(span >= count * 0.5 - 0.3 for count, span in spans), [round(b - a, 3) for a, b in
                                                                             pairwise(times)]
            for _, data in events:
                assert set(data) == FIELDS
                assert data["equity"] == pytest.approx(data["balance"] + data["credit"] + data["pnl"], abs=0.011)
        # The JSON view shows the latest state.
        state = httpx.get(f"{bases[1]}/api/crm/accounts/{login}", headers=agent).json()["state"]
        assert set(state) == FIELDS
        # No PII in events: they carry numbers and a currency only.
        assert customer.email not in json.dumps([d for _, d in results[0]])
