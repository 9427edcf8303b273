"""The live account feed: who is watching which account, the platform poll, and the 500 ms throttle.

- Watching: an open stream marks its account as watched (a Redis sorted set scored by expiry, shared by all web
  processes; in-process in the embedded default) and keeps the mark fresh while it lives. Only watched accounts
  are polled on the platform.
- Producing: one leader process (crm.trading.simulator.run) publishes on a fixed cadence. With the simulator it
  computes states itself; with MT5 it reads equity, P&L, margin, free margin and margin level for the watched
  accounts from the platform in batches (`user/account/get_batch`), while balance and credit stay the ledger's.
- Throttling holds twice: `publish_state` sends at most once per account per ACCOUNT_STREAM_MIN_INTERVAL_MS
  whoever calls it (the latest state is kept for the JSON endpoint either way), and each web process coalesces
  state events to that interval once per account for all its streams (`crm.trading.fanout`), so no producer can flood
  a client.
"""

from __future__ import annotations

import logging
import threading
import time
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache

from ledger.models import TradingAccount

log = logging.getLogger(__name__)

STATE_KEY = "sim:state:{login}"
WATCH_TTL = 45.0  # seconds a mark lives without refresh; streams refresh it at least every 20 s (keep-alive)
WATCH_REFRESH = 10.0
WATCHED_KEY = "trading:watched"

_local_watched: dict[int, float] = {}
_local_sent: dict[int, float] = {}
_local_lock = threading.Lock()
_redis = None


def _redis_client():
    global _redis
    if not settings.REDIS_URL:
        return None
    if _redis is None:
        import redis

        _redis = redis.Redis.from_url(settings.REDIS_URL)
    return _redis


def watch(login: int) -> None:
    expires = time.time() + WATCH_TTL
    r = _redis_client()
    if r is not None:
        r.zadd(WATCHED_KEY, {str(login): expires})
        return
    with _local_lock:
        _local_watched[login] = expires


def watch_many(logins: list[int]) -> None:
    """Refresh the marks of many accounts at once (the stream hub does it for all its accounts)."""
    expires = time.time() + WATCH_TTL
    r = _redis_client()
    if r is not None:
        r.zadd(WATCHED_KEY, {str(login): expires for login in logins})
        return
    with _local_lock:
        for login in logins:
            _local_watched[login] = expires


def watched_logins() -> list[int]:
    now = time.time()
    r = _redis_client()
    if r is not None:
        r.zremrangebyscore(WATCHED_KEY, "-inf", now)
        return sorted(int(x) for x in r.zrangebyscore(WATCHED_KEY, now, "+inf"))
    with _local_lock:
        for login in [k for k, v in _local_watched.items() if v < now]:
            del _local_watched[login]
        return sorted(_local_watched)


def _may_send(login: int) -> bool:
    interval_ms = settings.ACCOUNT_STREAM_MIN_INTERVAL_MS
    r = _redis_client()
    if r is not None:
        return bool(r.set(f"trading:sent:{login}", 1, nx=True, px=max(interval_ms - 20, 1)))
    now = time.monotonic()
    with _local_lock:
        if now - _local_sent.get(login, 0.0) < (interval_ms - 20) / 1000:
            return False
        _local_sent[login] = now
        return True


def publish_state(login: int, state: dict) -> bool:
    """Keep `state` as the account's latest and send it on `account-<login>` unless one went out too recently."""
    from django_eventstream import send_event

    cache.set(STATE_KEY.format(login=login), state, timeout=60)
    if not _may_send(login):
        return False
    send_event(f"account-{login}", "state", state)
    return True


def _num(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def platform_state(account, remote) -> dict:
    """The sheet's fields: balance and credit from our ledger, the trading side from the platform."""
    return {"balance": float(account.balance), "credit": float(account.credit), "equity": _num(remote.equity),
            "pnl": _num(remote.profit), "margin_used": _num(remote.margin), "free_margin": _num(remote.margin_free),
            "margin_level": _num(remote.margin_level), "currency": account.currency}


def mt5_tick(batch: int = 100) -> int:
    """Poll the platform for every watched account (in batches) and publish their states."""
    from . import bridge

    logins = watched_logins()
    sent = 0
    for i in range(0, len(logins), batch):
        chunk = logins[i:i + batch]
        accounts = {a.login: a for a in TradingAccount.objects.filter(login__in=chunk)
                    .only("login", "balance", "credit", "currency")}
        remote = bridge.client().accounts(list(accounts))
        for login, account in accounts.items():
            if login in remote:
                sent += publish_state(login, platform_state(account, remote[login]))
    return sent


def current_state(account) -> dict:
    """The JSON endpoint's answer: the latest published state, else read now."""
    state = cache.get(STATE_KEY.format(login=account.login))
    if state is not None:
        return state
    from . import bridge

    if bridge.enabled():
        remote = bridge.client().account(account.login)
        if remote is not None:
            return platform_state(account, remote)
        return {"balance": float(account.balance), "credit": float(account.credit), "equity": None, "pnl": None,
                "margin_used": None, "free_margin": None, "margin_level": None, "currency": account.currency}
    from .simulator import Simulator, state_for

    platform = Simulator()
    return state_for(account, platform, platform.prices())
