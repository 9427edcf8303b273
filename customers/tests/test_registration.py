"""Registration over HTTP: the three API paths, their gates and errors."""

from __future__ import annotations

import pytest

from customers.models import Activity, Customer, FraudSettings, PromoCode, RegistrationPath
from customers.tests.factories import registration_setup

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The registration paths, the promo code DEMO100 and the affiliate aff_demo (customers.tests.factories)."""
    registration_setup()
    return {}


URL = "/api/customer/register"


def payload(**over):
    body = {"email": "jane.roe@example.net", "password": "TestPass1234x", "first_name": "Jane", "last_name": "Roe",
            "phone": "+447911123456", "country": "GB", "source": "organic", "promo_code": None,
            "affiliate_id": None}
    body.update(over)
    return body


def test_organic_registration(api, demo):
    response = api.post(URL, payload(), format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(pk=body["id"])
    assert body["group"] == "Standard" and body["source"] == "organic"
    assert customer.check_password("TestPass1234x")
    assert customer.phone == "+447911123456" and customer.accounts.count() == 1
    assert Activity.objects.filter(customer=customer, verb="customer.registered").exists()


def test_password_is_hashed_and_validated(api, demo):
    response = api.post(URL, payload(password="123"), format="json")
    assert response.status_code == 400 and "password" in response.json()["fields"]
    api.post(URL, payload(), format="json")
    assert "TestPass1234x" not in Customer.objects.get(email="jane.roe@example.net").password


def test_promo_registration_joins_the_promo_group(api, demo):
    response = api.post(URL, payload(source="promo", promo_code="demo100"), format="json")
    assert response.status_code == 201 and response.json()["group"] == "Promo"
    assert PromoCode.objects.get(code="DEMO100").uses == 1


@pytest.mark.parametrize("promo", ["NOPE", "EXPIRED", "INACTIVE", "USEDUP"])
def test_invalid_promo_codes(api, demo, promo):
    from datetime import timedelta

    from django.utils import timezone

    from customers.models import CustomerGroup

    group = CustomerGroup.objects.get(name="Promo")
    PromoCode.objects.create(code="EXPIRED", group=group, valid_until=timezone.now() - timedelta(days=1))
    PromoCode.objects.create(code="INACTIVE", group=group, is_active=False)
    PromoCode.objects.create(code="USEDUP", group=group, max_uses=1, uses=1)
    response = api.post(URL, payload(source="promo", promo_code=promo), format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_promo_code"
    assert not Customer.objects.filter(email="jane.roe@example.net").exists()


def test_affiliate_registration_and_autologin(api, demo, client):
    response = api.post(URL, payload(source="affiliate", affiliate_id="aff_demo", affiliate_lead_id="L-1"),
                        format="json", HTTP_X_API_KEY="demo-affiliate-key")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["group"] == "Affiliates" and body["autologin_url"] and body["autologin_expires_at"]
    path = body["autologin_url"].split("testserver", 1)[1]
    first = client.get(path)
    assert first.status_code == 302 and first["Location"] == "/client/"
    assert client.get("/client/").status_code == 200
    assert client.post("/api/customer/heartbeat").status_code == 204
    again = client.get(path)
    assert again.status_code == 410 and again.json()["code"] == "autologin_used"


@pytest.mark.parametrize("key", [None, "wrong-key"])
def test_affiliate_needs_a_valid_key(api, demo, key):
    headers = {"HTTP_X_API_KEY": key} if key else {}
    response = api.post(URL, payload(source="affiliate", affiliate_id="aff_demo"), format="json", **headers)
    assert response.status_code == 403 and response.json()["code"] == "invalid_affiliate"


def test_autologin_expires_after_72_hours(api, demo, client, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from customers import services

    body = api.post(URL, payload(source="affiliate"), format="json", HTTP_X_API_KEY="demo-affiliate-key").json()
    path = body["autologin_url"].split("testserver", 1)[1]
    later = timezone.now() + timedelta(hours=72, seconds=1)
    monkeypatch.setattr(services.timezone, "now", lambda: later)
    response = client.get(path)
    assert response.status_code == 410 and response.json()["code"] == "autologin_expired"


@pytest.mark.parametrize(
    "email",
    ["x@mailinator.com", "X@MAILINATOR.COM", "x@sub.mailinator.com", "x@blocked.example", "x@deep.blocked.example"],
)
def test_disposable_email_is_refused(api, demo, email):
    fraud = FraudSettings.current()
    fraud.blocked_domains = ["blocked.example"]
    fraud.save()
    response = api.post(URL, payload(email=email), format="json")
    assert response.status_code == 400 and response.json()["code"] == "disposable_email"
    assert email.lower() not in response.content.decode().lower()


def test_allowlist_overrides_the_disposable_list(api, demo):
    fraud = FraudSettings.current()
    fraud.allowed_domains = ["mailinator.com"]
    fraud.save()
    assert api.post(URL, payload(email="x@mailinator.com"), format="json").status_code == 201


def test_idn_domains_are_normalized():
    from customers.gates import _domain

    assert _domain("a@BÜCHER.example") == "xn--bcher-kva.example"


@pytest.mark.parametrize(
    "body,field",
    [
        ({"source": "partner"}, "source"),
        ({"country": "XX"}, "country"),
        ({"phone": "12"}, "phone"),
        ({"phone": "+447700900000"}, "phone"),  # a fiction range: not valid under the strict default
        ({"email": "not-an-email"}, "email"),
        ({"first_name": ""}, "first_name"),
        ({"first_name": 12345678901234567890 * 10 ** 80}, "first_name"),
    ],
)
def test_bad_input_is_a_field_error_and_creates_nothing(api, demo, body, field):
    before = Customer.objects.count()
    response = api.post(URL, payload(**body), format="json")
    assert response.status_code == 400
    assert field in response.json()["fields"]
    assert Customer.objects.count() == before


def test_missing_fields_and_invalid_json(api, demo):
    response = api.post(URL, {"email": "a@b.co"}, format="json")
    assert response.status_code == 400 and {"password", "phone", "country"} <= set(response.json()["fields"])
    response = api.post(URL, "{oops", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_json"


def test_oversized_body_is_413(api, demo, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    response = api.post(URL, payload(first_name="x" * 5000), format="json")
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_fiction_numbers_pass_when_strict_validation_is_off(api, demo):
    fraud = FraudSettings.current()
    fraud.strict_phone_validation = False
    fraud.save()
    response = api.post(URL, payload(phone="+447700900001"), format="json")
    assert response.status_code == 201


def test_rate_limit_per_path_and_address(api, demo):
    RegistrationPath.objects.filter(source="organic").update(rate_limit="3/min")
    statuses = [api.post(URL, payload(email=f"r{i}@example.net", phone=f"+4479111234{i:02d}"), format="json")
                for i in range(5)]
    assert [r.status_code for r in statuses[:3]] == [201, 201, 201]
    assert statuses[3].status_code == 429 and statuses[3].json()["code"] == "rate_limited"
    assert int(statuses[3]["Retry-After"]) > 0


def test_allowed_countries_and_closed_paths(api, demo):
    RegistrationPath.objects.filter(source="organic").update(allowed_countries=["DE"])
    response = api.post(URL, payload(), format="json")
    assert response.status_code == 400 and "country" in response.json()["fields"]
    RegistrationPath.objects.filter(source="organic").update(allowed_countries=[], enabled=False)
    closed = api.post(URL, payload(), format="json")
    assert closed.status_code == 400 and closed.json()["code"] == "registration_closed"
