"""Issue #11: payment routes are written by ledger.services (keyword-only, `by=`, audited), not by the viewset's or
the administration page's serializer save."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from ledger import services
from ledger.models import PaymentRoute
from teams.models import AuditLog
from teams.tests.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def api():
    client = APIClient()
    client.force_authenticate(UserFactory(role=RoleFactory(admin=True)))
    return client


def test_payment_route_crud_goes_through_audited_services(api):
    created = api.post("/api/platform/payment-routes",
                       {"country": "GB", "currency": "GBP", "provider": "sandbox", "priority": 3, "min_amount": "10"},
                       format="json")
    assert created.status_code == 201, created.content
    route = PaymentRoute.objects.get(pk=created.json()["id"])
    assert created.json()["priority"] == 3 and route.min_amount == 10
    entry = AuditLog.objects.get(action="paymentroute.created", object_id=str(route.pk))
    assert entry.after["provider"] == "sandbox" and entry.after["min_amount"] == "10.00"

    changed = api.patch(f"/api/platform/payment-routes/{route.pk}", {"priority": 1, "is_active": False},
                        format="json")
    assert changed.status_code == 200 and changed.json()["priority"] == 1
    entry = AuditLog.objects.get(action="paymentroute.updated", object_id=str(route.pk))
    assert entry.before["priority"] == 3 and entry.after["priority"] == 1 and entry.after["is_active"] is False
    assert api.patch(f"/api/platform/payment-routes/{route.pk}", {"provider": "paypal"},
                     format="json").status_code == 400

    assert api.delete(f"/api/platform/payment-routes/{route.pk}").status_code == 204
    assert not PaymentRoute.objects.filter(pk=route.pk).exists()
    assert AuditLog.objects.get(action="paymentroute.deleted", object_id=str(route.pk)).before["country"] == "GB"


def test_payment_route_services_need_an_actor():
    with pytest.raises(TypeError):
        services.payment_route_create(by=None, provider="sandbox")
    assert not PaymentRoute.objects.filter(provider="sandbox", country="").exists()
