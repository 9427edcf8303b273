"""Online presence: a customer is online while a key with a 300-second TTL exists (Redis; the cache when embedded)."""

from __future__ import annotations

from collections.abc import Iterable

from django.conf import settings
from django.core.cache import cache


def _key(customer_id: int) -> str:
    return f"presence:customer:{customer_id}"


def presence_touch(*, customer_id: int) -> None:
    """Mark the customer online for PRESENCE_TTL_SECONDS (the heartbeat calls this)."""
    cache.set(_key(customer_id), 1, timeout=settings.PRESENCE_TTL_SECONDS)


def presence_online(ids: Iterable[int]) -> set[int]:
    """Which of `ids` are online: one round trip for a whole page."""
    ids = list(ids)
    if not ids:
        return set()
    found = cache.get_many([_key(i) for i in ids])
    return {i for i in ids if _key(i) in found}
