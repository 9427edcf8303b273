"""Issue #14: promo codes and fraud settings in the workspace, through the platform API's serializers (same rules)
and audited saves; refusals change nothing, validation errors are words next to the field."""

from __future__ import annotations

import pytest
from django.test import Client

from customers.models import FraudSettings, PromoCode, RegistrationPath
from customers.tests.factories import registration_setup
from teams.models import AuditLog
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff and the registration set-up (paths and groups, DEMO100, aff_demo)."""
    staff = demo_staff()
    registration_setup()
    return staff


@pytest.fixture
def browse(demo):
    def make(name):
        client = Client()
        client.force_login(demo[name])
        return client

    return make


def test_promo_code_create_edit_and_audit(browse):
    client = browse("admin")
    response = client.post("/administration/promo-codes/", {"code": "SPRING25", "group": "Promo", "max_uses": "100",
                                                            "valid_from": "", "valid_until": "", "is_active": "on"})
    assert response.status_code == 302
    code = PromoCode.objects.get(code="SPRING25")
    assert code.max_uses == 100 and code.valid_until is None and code.is_active
    assert AuditLog.objects.filter(action="promocode.created", object_id=str(code.pk)).exists()
    listing = client.get("/administration/promo-codes/").content.decode()
    assert "Promo code SPRING25 created: it puts new customers in Promo." in listing
    response = client.post(f"/administration/promo-codes/{code.pk}/", {"code": "SPRING25", "group": "Promo",
                                                                       "max_uses": ""})
    assert response.status_code == 302
    code.refresh_from_db()
    assert not code.is_active and code.max_uses is None  # unticked: inactive; empty: unlimited
    assert AuditLog.objects.filter(action="promocode.updated", object_id=str(code.pk)).exists()


def test_promo_code_validation_in_words(browse):
    client = browse("admin")
    before = PromoCode.objects.count()
    dup = client.post("/administration/promo-codes/", {"code": "demo100", "group": "Promo"})
    assert dup.status_code == 400 and "A promo code with this code exists." in dup.content.decode()
    window = client.post("/administration/promo-codes/", {"code": "W1", "group": "Promo",
                                                          "valid_from": "2026-05-01T00:00",
                                                          "valid_until": "2026-04-01T00:00"})
    assert window.status_code == 400 and "Must be after valid_from." in window.content.decode()
    assert 'data-testid="error-valid_until"' in window.content.decode()
    group = client.post("/administration/promo-codes/", {"code": "W2", "group": "Nope"})
    assert group.status_code == 400 and "Object with name=Nope does not exist." in group.content.decode()
    assert PromoCode.objects.count() == before


@pytest.mark.parametrize("persona", ["manager", "agent", "compliance"])
def test_promo_codes_and_fraud_need_their_permissions(browse, persona):
    client = browse(persona)
    demo_code = PromoCode.objects.get(code="DEMO100")
    assert client.get("/administration/promo-codes/").status_code == 403
    assert client.post("/administration/promo-codes/", {"code": "X1", "group": "Promo"}).status_code == 403
    assert client.post(f"/administration/promo-codes/{demo_code.pk}/", {"code": "HACKED", "group": "Promo"}) \
        .status_code == 403
    assert client.post("/administration/fraud/", {"verb": "settings", "reject_threshold": "99"}).status_code == 403
    assert not PromoCode.objects.filter(code__in=["X1", "HACKED"]).exists()
    assert FraudSettings.current().reject_threshold != 99


def test_fraud_settings_and_registration_paths(browse):
    client = browse("admin")
    settings_form = {"verb": "settings", "weight_affiliate_lead_id": "10", "weight_email": "4", "weight_phone": "3",
                     "weight_country": "1", "reject_threshold": "5", "flag_threshold": "6",
                     "blocked_domains": "spam.example\n@Junk.example", "allowed_domains": ""}
    bad = client.post("/administration/fraud/", settings_form)
    assert bad.status_code == 400 and "Must not exceed reject_threshold." in bad.content.decode()
    assert FraudSettings.current().reject_threshold == 4
    ok = client.post("/administration/fraud/", {**settings_form, "flag_threshold": "3"})
    assert ok.status_code == 302
    current = FraudSettings.current()
    assert current.reject_threshold == 5 and current.blocked_domains == ["junk.example", "spam.example"]
    assert AuditLog.objects.filter(action="fraud_settings.updated").exists()
    path = RegistrationPath.objects.get(source="organic")
    bad_path = client.post("/administration/fraud/", {"verb": "path", "path": path.pk, "enabled": "on",
                                                      "rate_limit": "lots", "allowed_countries": "GB XX"})
    assert bad_path.status_code == 400
    assert "A rate such as 20/min, 100/hour." in bad_path.content.decode()
    assert "ISO 3166-1 alpha-2 codes." in bad_path.content.decode()
    ok_path = client.post("/administration/fraud/", {"verb": "path", "path": path.pk, "rate_limit": "5/min",
                                                     "allowed_countries": "gb, de", "check_duplicates": "on"})
    assert ok_path.status_code == 302
    path.refresh_from_db()
    assert (not path.enabled and path.rate_limit == "5/min" and path.allowed_countries == ["GB", "DE"]
            and not path.check_disposable)
