"""Retention classes from last activity, login and deposit, with the thresholds of customers.conf."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from brokercrm.events import domain_event
from customers.models import Activity, Customer
from customers.retention import retention_classify
from customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "days_since,field,expected",
    [
        (0, "registered_at", "active"),
        (29, "registered_at", "active"),
        (31, "registered_at", "churning"),
        (89, "registered_at", "churning"),
        (91, "registered_at", "dormant"),
        (5, "last_login_at", "active"),
        (40, "last_deposit_at", "churning"),
        (200, "last_activity_at", "dormant"),
    ],
)
def test_thresholds(days_since, field, expected, django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    old = timezone.now() - timedelta(days=400)
    Customer.objects.filter(pk=customer.pk).update(registered_at=old, last_login_at=None, last_deposit_at=None,
                                                   last_activity_at=None)
    Customer.objects.filter(pk=customer.pk).update(**{field: timezone.now() - timedelta(days=days_since)})
    retention_classify()
    customer.refresh_from_db()
    assert customer.retention_class == expected


def test_changes_are_recorded_announced_and_reversible(django_capture_on_commit_callbacks):
    customer = CustomerFactory()
    Customer.objects.filter(pk=customer.pk).update(registered_at=timezone.now() - timedelta(days=100))
    seen = []

    def receiver(sender, name, payload, **kwargs):
        seen.append((name, payload))

    domain_event.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            result = retention_classify()
        assert result.changed == {"dormant": 1}
        assert ("retention.changed", {"customer_id": customer.pk, "from": "active", "to": "dormant"}) in seen
        assert Activity.objects.filter(customer=customer, verb="retention.changed", data__to="dormant").exists()
        # New activity brings the customer back.
        Customer.objects.filter(pk=customer.pk).update(last_activity_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            assert retention_classify().changed == {"active": 1}
        assert retention_classify().changed == {}
    finally:
        domain_event.disconnect(receiver)


def test_management_command(capsys):
    CustomerFactory()
    from django.core.management import call_command

    call_command("classify_retention")
    assert "retention classified" in capsys.readouterr().out
