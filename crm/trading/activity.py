"""Trading on the platform is a sign of life: the last deal or an open position moves `last_activity_at`."""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.core.cache import cache

from customers.retention import customers_mark_seen
from ledger.models import TradingAccount

from . import bridge

SINCE_KEY = "platform:activity:since"


def activity_sync(*, now: int | None = None) -> int:
    if not bridge.enabled():
        return 0
    until = now or int(time.time())
    since = cache.get(SINCE_KEY) or until - 3600
    seen = bridge.trading_activity(since, until)
    per_customer: dict[int, datetime] = {}
    for login, customer_id in TradingAccount.objects.filter(login__in=list(seen)).values_list("login",
                                                                                               "customer_id"):
        at = datetime.fromtimestamp(seen[login], tz=UTC)
        per_customer[customer_id] = max(per_customer.get(customer_id, at), at)
    updated = customers_mark_seen(per_customer)
    cache.set(SINCE_KEY, until, timeout=None)
    return updated
