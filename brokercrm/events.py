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
    """Announce one `name` event per payload after commit, with one callback for the whole batch."""
    if not payloads:
        return

    def send() -> None:
        for payload in payloads:
            for receiver, result in domain_event.send_robust(sender=name, name=name, payload=payload):
                if isinstance(result, Exception):
                    log.error("event receiver %r failed for %s: %r", receiver, name, result)

    transaction.on_commit(send)
