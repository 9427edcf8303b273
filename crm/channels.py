"""Who may read which SSE channel: `account-<login>` only for staff who may view that account's customer."""

from __future__ import annotations

import threading
import time

from django.db import connection
from django_eventstream.channelmanager import DefaultChannelManager

from ledger.models import TradingAccount

# django-eventstream re-checks the channel before every batch of events, in the stream's own thread. A stream is
# long-lived: a database connection held for its lifetime would exhaust the pool at a few dozen subscribers. So a
# decision is cached briefly per (user, channel) and the connection is released right after each real check.
DECISION_TTL = 30.0
_decisions: dict[tuple[int, str], tuple[float, bool]] = {}
_lock = threading.Lock()


class AccountChannelManager(DefaultChannelManager):
    def can_read_channel(self, user, channel: str) -> bool:
        if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "holds"):
            return False
        if not channel.startswith("account-") or not channel[8:].isdigit():
            return False
        key = (user.pk, channel)
        now = time.monotonic()
        with _lock:
            cached = _decisions.get(key)
        if cached and cached[0] > now:
            return cached[1]
        allowed = self._check(user, int(channel[8:]))
        with _lock:
            if len(_decisions) > 100_000:
                _decisions.clear()
            _decisions[key] = (now + DECISION_TTL, allowed)
        connection.close()  # back to the pool: the stream itself needs no database
        return allowed

    @staticmethod
    def _check(user, login: int) -> bool:
        if not user.holds("customers.view"):
            return False
        return TradingAccount.objects.visible_to(user).filter(login=login).exists()

    def is_channel_reliable(self, channel: str) -> bool:
        return False  # a throttled live feed: the next state supersedes a missed one, nothing to replay


def channel_access_changed() -> None:
    """Forget cached decisions (call after scope or role changes to apply them at once)."""
    with _lock:
        _decisions.clear()
