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
from django.db.models import Case, DateTimeField, Q, Value, When
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from brokercrm.events import event_emit

from . import conf
from .models import Activity, Customer, RetentionClass


@dataclass(frozen=True)
class RetentionResult:
    changed: dict[str, int]
    seconds: float


def _thresholds(now: datetime) -> tuple[datetime, datetime]:
    return now - timedelta(days=conf.RETENTION_CHURNING_DAYS), now - timedelta(days=conf.RETENTION_DORMANT_DAYS)


_PG_SQL = """
WITH changed AS (
    UPDATE customers_customer AS c SET retention_class = %(target)s
    FROM customers_customer AS o
    WHERE o.id = c.id
      AND c.retention_class <> %(target)s
      AND GREATEST(c.registered_at, COALESCE(c.last_activity_at, c.registered_at),
                   COALESCE(c.last_login_at, c.registered_at), COALESCE(c.last_deposit_at, c.registered_at))
          {condition}
    RETURNING c.id, o.retention_class AS previous
), logged AS (
    INSERT INTO customers_activity (customer_id, verb, summary, data, created_at)
    SELECT id, 'retention.changed', previous || ' → ' || %(target)s,
           json_build_object('from', previous, 'to', %(target)s)::jsonb, %(now)s
    FROM changed
    RETURNING customer_id
)
SELECT changed.id, changed.previous FROM changed
"""

_CONDITIONS = {
    RetentionClass.ACTIVE: ">= %(churning)s",
    RetentionClass.CHURNING: "< %(churning)s AND GREATEST(c.registered_at, COALESCE(c.last_activity_at, c.registered_at), COALESCE(c.last_login_at, c.registered_at), COALESCE(c.last_deposit_at, c.registered_at)) >= %(dormant)s",
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
        with connection.cursor() as cursor:
            for target, condition in _CONDITIONS.items():
                cursor.execute(_PG_SQL.format(condition=condition),
                               {"target": target, "churning": churning, "dormant": dormant, "now": now})
                changes += [(pk, previous, target) for pk, previous in cursor.fetchall()]
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
    for pk, previous, target in changes:
        event_emit("retention.changed", {"customer_id": pk, "from": previous, "to": target})
    counts: dict[str, int] = {}
    for _, _, target in changes:
        counts[target] = counts.get(target, 0) + 1
    return RetentionResult(changed=counts, seconds=(timezone.now() - started).total_seconds())
