"""Domain events: lower-level apps announce what happened; workflows (comms) and others subscribe.

Events go out only after the surrounding transaction commits, so a rolled-back change announces nothing."""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.dispatch import Signal

log = logging.getLogger(__name__)

# Sent with `name` (e.g. "customer.registered", "status.changed") and `payload` (JSON-serializable ids and values).
domain_event = Signal()


def event_emit(name: str, payload: dict[str, Any]) -> None:
    """Announce `name` after the current transaction commits (at once when there is none)."""

    def send() -> None:
        for receiver, result in domain_event.send_robust(sender=name, name=name, payload=payload):
            if isinstance(result, Exception):
                log.error("event receiver %r failed for %s: %r", receiver, name, result)

    transaction.on_commit(send)


def event_emit_many(name: str, payloads: list[dict[str, Any]]) -> None:
    """Announce one `name` event per payload after commit, with one callback for the whole batch.

    Each event also carries `batch` (the whole list) and `batch_index`: a receiver that can handle a bulk job at
    once (workflows fan out in batches) does so on index 0 and ignores the rest; others see single events."""
    if not payloads:
        return

    def send() -> None:
        receivers = _sync_receivers(name)
        if receivers is None:  # an async receiver, or a Django without the lookup below: one send_robust per event
            for index, payload in enumerate(payloads):
                for receiver, result in domain_event.send_robust(sender=name, name=name, payload=payload,
                                                                 batch=payloads, batch_index=index):
                    if isinstance(result, Exception):
                        log.error("event receiver %r failed for %s: %r", receiver, name, result)
            return
        # What send_robust does for each event, with the receivers looked up once for the batch: the lookup (a lock,
        # the sender's receivers filtered, weak references resolved) was two thirds of an import's 50,000-event
        # dispatch (0.41 s → 0.13 s). A receiver connected while the batch is being sent sees the next one.
        for index, payload in enumerate(payloads):
            for receiver in receivers:
                try:
                    receiver(signal=domain_event, sender=name, name=name, payload=payload, batch=payloads,
                             batch_index=index)
                except Exception as error:
                    log.error("event receiver %r failed for %s: %r", receiver, name, error, exc_info=error)

    transaction.on_commit(send)


def _sync_receivers(name: str) -> list | None:
    """`domain_event`'s live receivers for `name` when all are synchronous (Django 5's `Signal._live_receivers`,
    the lookup `send_robust` makes for every call), else None."""
    lookup = getattr(domain_event, "_live_receivers", None)
    if lookup is None:
        return None
    found = lookup(name)
    if not (isinstance(found, tuple) and len(found) == 2):
        return None
    sync_receivers, async_receivers = found
    return None if async_receivers else list(sync_receivers)
