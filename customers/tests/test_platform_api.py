"""Platform administration of registration: promo codes, paths, fraud settings, affiliates."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from customers.models import FraudSettings, PromoCode
from customers.tests.factories import CustomerGroupFactory
from teams.models import AuditLog
from teams.tests.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def client_for():
    """`client_for("admin" | "manager" | "agent")`: an APIClient of a new staff user with that demo role (factories,
    not the demo seed), and the groups these tests name."""
    CustomerGroupFactory(name="Promo")
    CustomerGroupFactory(name="VIP")
    roles = {"admin": {"admin": True}, "manager": {"manager": True}, "agent": {}}

    def make(persona: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(UserFactory(role=RoleFactory(**roles[persona])))
        return client

    return make


def test_promo_codes_crud_is_permissioned_and_audited(client_for):
    assert client_for("agent").get("/api/platform/promo-codes").status_code == 403
    admin = client_for("admin")
    response = admin.post("/api/platform/promo-codes", {"code": "Spring", "group": "Promo", "max_uses": 10},
                          format="json")
    assert response.status_code == 201, response.content
    duplicate = admin.post("/api/platform/promo-codes", {"code": "SPRING", "group": "Promo"}, format="json")
    assert duplicate.status_code == 400 and "code" in duplicate.json()["fields"]
    assert AuditLog.objects.filter(action="promocode.created").exists()
    assert PromoCode.objects.get(code="Spring").max_uses == 10


def test_fraud_settings_roundtrip(client_for):
    admin = client_for("admin")
    response = admin.put("/api/platform/fraud-settings",
                         {"weight_email": 5, "blocked_domains": ["@Spam.Example "], "flag_threshold": 3},
                         format="json")
    assert response.status_code == 200, response.content
    assert FraudSettings.current().blocked_domains == ["spam.example"]
    entry = AuditLog.objects.get(action="fraud_settings.updated")  # written by customers.services
    assert entry.before["weight_email"] == 4 and entry.after["weight_email"] == 5
    assert entry.after["blocked_domains"] == ["spam.example"]
    bad = admin.put("/api/platform/fraud-settings", {"flag_threshold": 9, "reject_threshold": 4}, format="json")
    assert bad.status_code == 400 and "flag_threshold" in bad.json()["fields"]
    assert client_for("manager").get("/api/platform/fraud-settings").status_code == 403


def test_registration_paths_are_editable(client_for):
    admin = client_for("admin")
    paths = admin.get("/api/platform/registration-paths").json()
    organic = next(p for p in paths if p["source"] == "organic")
    response = admin.patch(f"/api/platform/registration-paths/{organic['id']}",
                           {"rate_limit": "5/min", "allowed_countries": ["gb", "de"], "default_group": "VIP"},
                           format="json")
    assert response.status_code == 200, response.content
    assert response.json()["allowed_countries"] == ["GB", "DE"]
    bad = admin.patch(f"/api/platform/registration-paths/{organic['id']}", {"rate_limit": "often"}, format="json")
    assert bad.status_code == 400


def test_affiliate_key_is_shown_once_and_stored_hashed(client_for, api):
    response = client_for("admin").post("/api/platform/affiliates", {"code": "aff_new", "name": "New"}, format="json")
    assert response.status_code == 201
    key = response.json()["api_key"]
    from customers.models import Affiliate

    assert key not in Affiliate.objects.get(code="aff_new").api_key_hash
    body = {"email": "n@example.org", "password": "TestPass1234x", "first_name": "N", "last_name": "A",
            "phone": "+447911123450", "country": "GB", "source": "affiliate", "affiliate_id": "aff_new"}
    assert api.post("/api/customer/register", body, format="json", HTTP_X_API_KEY=key).status_code == 201
