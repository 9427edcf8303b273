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
        for index, payload in enumerate(payloads):
            for receiver, result in domain_event.send_robust(sender=name, name=name, payload=payload,
                                                             batch=payloads, batch_index=index):
                if isinstance(result, Exception):
                    log.error("event receiver %r failed for %s: %r", receiver, name, result)

    transaction.on_commit(send)
