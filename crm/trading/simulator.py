"""The built-in trading platform: a few symbols on a random walk and 1–3 open positions per account.

One process publishes (a leader lock in the shared cache), on a fixed cadence, at most once per account per
ACCOUNT_STREAM_MIN_INTERVAL_MS, reading balance and credit from the ledger at publish time — so updates in
between coalesce and the latest state is what goes out."""

from __future__ import annotations

import logging
import os
import random
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache

from ledger.models import TradingAccount

from .adapter import Position, TradingPlatform, account_state
from .feed import mt5_tick, publish_state

log = logging.getLogger(__name__)

SYMBOLS = {"EURUSD": (1.08, 100_000, 0.00008), "GBPUSD": (1.27, 100_000, 0.0001), "XAUUSD": (2000.0, 100, 0.4),
           "US500": (5000.0, 1, 1.5)}
PRICES_KEY = "sim:prices"
LEADER_KEY = "sim:leader"


class Simulator(TradingPlatform):
    def __init__(self, seed: int | None = None):
        self.rng = random.Random(seed)
        self.current = cache.get(PRICES_KEY) or {s: v[0] for s, v in SYMBOLS.items()}

    def positions(self, login: int, funds: float | None = None) -> list[Position]:
        """The same 1–3 positions for an account in every process. Only funded accounts trade, and each position's
        margin is a modest share of the funds (together at most ~30 %), so margin levels read like a real book."""
        if funds is not None and funds <= 0:
            return []
        rng = random.Random(login)
        out = []
        for _ in range(rng.randint(1, 3)):
            symbol = rng.choice(sorted(SYMBOLS))
            base, contract, _ = SYMBOLS[symbol]
            if funds is None:
                volume = rng.choice([0.1, 0.2, 0.5, 1.0])
            else:
                margin_per_lot = base * contract / 100  # leverage 100
                volume = round(funds * rng.uniform(0.03, 0.10) / margin_per_lot, 2)
                if volume < 0.01:
                    continue  # too small an account for this instrument
            out.append(Position(symbol=symbol, side=rng.choice([1, -1]), volume=volume,
                                open_price=base * (1 + rng.uniform(-0.002, 0.002)), contract_size=contract))
        return out

    def prices(self) -> dict[str, float]:
        return dict(self.current)

    def step(self) -> dict[str, float]:
        for symbol, (base, _, sigma) in SYMBOLS.items():
            price = self.current.get(symbol, base) + self.rng.gauss(0, sigma)
            self.current[symbol] = round(max(price, base * 0.5), 5)
        cache.set(PRICES_KEY, self.current, timeout=3600)
        return self.prices()


def state_for(account, platform: TradingPlatform, prices: dict[str, float]) -> dict:
    return account_state(balance=account.balance, credit=account.credit, currency=account.currency,
                         positions=platform.positions(account.login, float(account.balance + account.credit)),
                         prices=prices).as_event()


def publish_tick(platform: Simulator, logins: list[int] | None = None) -> int:
    """One tick: move prices, compute each account's state, store it and send it on `account-<login>`."""
    prices = platform.step()
    accounts = TradingAccount.objects.exclude(login=None).only("login", "balance", "credit", "currency")
    if logins is not None:
        accounts = accounts.filter(login__in=logins)
    sent = 0
    for account in accounts.iterator(chunk_size=2000):
        sent += publish_state(account.login, state_for(account, platform, prices))
    return sent


def _is_leader(me: str) -> bool:
    if cache.add(LEADER_KEY, me, timeout=3):
        return True
    if cache.get(LEADER_KEY) == me:
        cache.touch(LEADER_KEY, 3)
        return True
    return False


def run(*, stop: threading.Event | None = None, interval_ms: int | None = None, logins: list[int] | None = None):
    """Publish ticks until `stop` is set. Only the leader publishes; ticks keep a fixed cadence.

    With `TRADING_PLATFORM=mt5` a tick polls the platform for the watched accounts instead of simulating."""
    from .bridge import enabled

    interval = max(interval_ms or settings.ACCOUNT_STREAM_MIN_INTERVAL_MS, settings.ACCOUNT_STREAM_MIN_INTERVAL_MS)
    me = f"{os.getpid()}-{uuid.uuid4().hex[:6]}"
    platform = Simulator()
    next_tick = time.monotonic()
    while not (stop and stop.is_set()):
        if _is_leader(me):
            try:
                if enabled():
                    mt5_tick()
                else:
                    publish_tick(platform, logins)
            except Exception:
                log.exception("simulator tick failed")
        next_tick += interval / 1000
        time.sleep(max(0.0, next_tick - time.monotonic()))
        if time.monotonic() - next_tick > 5:
            next_tick = time.monotonic()  # fell far behind: don't burst to catch up


def start_in_process() -> threading.Thread:
    """The embedded default (no Redis): events cannot cross processes, so the web process runs the simulator."""
    from django.db import connection

    def target():
        try:
            run()
        finally:
            connection.close()

    thread = threading.Thread(target=target, name="trading-simulator", daemon=True)
    thread.start()
    return thread
