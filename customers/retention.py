"""Retention classes: active → churning → dormant, and back to active on new activity.

A customer's last sign of life is the latest of last activity, last login, last deposit and registration.
Older than RETENTION_CHURNING_DAYS → churning; older than RETENTION_DORMANT_DAYS → dormant; else active.

The run is set-based: on PostgreSQL one statement per target class updates the customers whose class changes,
and in the same statement inserts their activity entries (`UPDATE … RETURNING` feeding `INSERT … SELECT`).
Events (`retention.changed`) go out after commit, one per changed customer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.db.models import DateTimeField, Q
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from brokercrm.events import event_emit_many

from . import conf
from .models import Activity, Customer, RetentionClass


@dataclass(frozen=True)
class RetentionResult:
    changed: dict[str, int]
    seconds: float


def _thresholds(now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=conf.RETENTION_CHURNING_DAYS), now - timedelta(days=conf.RETENTION_DORMANT_DAYS)


_SEEN = ("GREATEST(registered_at, COALESCE(last_activity_at, registered_at), COALESCE(last_login_at, registered_at), "
         "COALESCE(last_deposit_at, registered_at))")

# One statement per (from, to) pair: the previous class is known without a self-join, the updates are HOT
# (no indexed column changes), and the activity rows are inserted by the same statement.
_PG_SQL = """
WITH changed AS (
    UPDATE customers_customer SET retention_class = %(target)s
    WHERE retention_class = %(previous)s AND {seen} {condition}
    RETURNING id
), logged AS (
    INSERT INTO customers_activity (customer_id, verb, summary, data, created_at)
    SELECT id, 'retention.changed', %(summary)s, %(data)s::jsonb, %(now)s FROM changed
)
SELECT id FROM changed
"""

_CONDITIONS = {
    RetentionClass.ACTIVE: ">= %(churning)s",
    RetentionClass.CHURNING: "BETWEEN %(dormant)s AND %(churning_excl)s",
    RetentionClass.DORMANT: "< %(dormant)s",
}


def _last_seen():
    return Greatest(
        "registered_at",
        Coalesce("last_activity_at", "registered_at"),
        Coalesce("last_login_at", "registered_at"),
        Coalesce("last_deposit_at", "registered_at"),
        output_field=DateTimeField(),
    )


@transaction.atomic
def retention_classify(*, now: datetime | None = None) -> RetentionResult:
    """Recompute every customer's retention class; record and announce each change. Safe to run concurrently
    with itself (the second run finds nothing left to change)."""
    started = timezone.now()
    now = now or started
    churning, dormant = _thresholds(now)
    changes: list[tuple[int, str, str]] = []
    if connection.vendor == "postgresql":
        import json

        churning_excl = churning - timedelta(microseconds=1)
        with connection.cursor() as cursor:
            for target, condition in _CONDITIONS.items():
                for previous in RetentionClass.values:
                    if previous == target:
                        continue
                    cursor.execute(_PG_SQL.format(seen=_SEEN, condition=condition), {
                        "target": target, "previous": previous, "churning": churning, "dormant": dormant,
                        "churning_excl": churning_excl, "now": now, "summary": f"{previous} → {target}",
                        "data": json.dumps({"from": previous, "to": target}),
                    })
                    changes += [(pk, previous, target) for (pk,) in cursor.fetchall()]
    else:
        qs = Customer.objects.annotate(seen=_last_seen())
        targets = {
            RetentionClass.ACTIVE: Q(seen__gte=churning),
            RetentionClass.CHURNING: Q(seen__lt=churning, seen__gte=dormant),
            RetentionClass.DORMANT: Q(seen__lt=dormant),
        }
        for target, cond in targets.items():
            rows = list(qs.filter(cond).exclude(retention_class=target).values_list("pk", "retention_class"))
            Customer.objects.filter(pk__in=[pk for pk, _ in rows]).update(retention_class=target)
            Activity.objects.bulk_create(
                [Activity(customer_id=pk, verb="retention.changed", summary=f"{prev} → {target}",
                          data={"from": prev, "to": target}, created_at=now) for pk, prev in rows],
                batch_size=2000,
            )
            changes += [(pk, prev, target) for pk, prev in rows]
    event_emit_many("retention.changed", [{"customer_id": pk, "from": previous, "to": target}
                                          for pk, previous, target in changes])
    counts: dict[str, int] = {}
    for _, _, target in changes:
        counts[target] = counts.get(target, 0) + 1
    return RetentionResult(changed=counts, seconds=(timezone.now() - started).total_seconds())


def customers_mark_seen(seen: dict[int, datetime]) -> int:
    """Record outside signs of life (e.g. trading on the platform): `last_activity_at` moves forward, never back.

    The next retention run then counts them like any other activity."""
    updated = 0
    with transaction.atomic():
        for customer_id, at in seen.items():
            updated += Customer.objects.filter(pk=customer_id).filter(
                Q(last_activity_at__isnull=True) | Q(last_activity_at__lt=at)).update(last_activity_at=at)
    return updated
