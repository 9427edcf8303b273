"""Staff authentication: tokens, session login, lockout, and the separate customer realm."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import make_password
from rest_framework.test import APIClient

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff (teams.tests.factories.demo_staff) and one customer using the staff's demo password."""
    staff = demo_staff()
    CustomerFactory(assigned_to=staff["agent"], password=make_password("demo-password"))
    return staff


def test_token_roundtrip_and_revocation(api, demo):
    response = api.post("/api/auth/token", {"email": "agent@demo.test", "password": "demo-password"}, format="json")
    assert response.status_code == 200
    token = response.json()["token"]
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/crm/customers").status_code == 200
    assert api.delete("/api/auth/token/revoke").status_code == 204
    response = api.get("/api/crm/customers")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_wrong_password_is_401_and_lockout_is_429(api, demo, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        response = api.post("/api/auth/token", {"email": "agent@demo.test", "password": "nope"}, format="json")
        assert response.status_code == 401 and response.json()["code"] == "invalid_credentials"
    response = api.post("/api/auth/token", {"email": "agent@demo.test", "password": "nope"}, format="json")
    assert response.status_code in (401, 429)
    # Locked: even the right password is refused now.
    response = api.post("/api/auth/token", {"email": "agent@demo.test", "password": "demo-password"}, format="json")
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert "Retry-After" in response


def test_passwords_are_hashed_with_argon2_in_production_settings(demo):
    from django.conf import settings as live

    assert "Argon2PasswordHasher" in [h.rsplit(".", 1)[1] for h in live.PASSWORD_HASHERS][:2]


def test_customer_credentials_never_open_the_back_office(demo):
    customer = Customer.objects.first()
    client = APIClient()
    # A customer's email and password are not staff credentials.
    response = client.post("/api/auth/token", {"email": customer.email, "password": "demo-password"}, format="json")
    assert response.status_code == 401
    # A customer session does not authenticate staff endpoints or pages.
    session = client.session
    session["customer_id"] = customer.pk
    session.save()
    assert client.get("/api/crm/customers").status_code == 401
    assert client.get("/customers/").status_code == 302


def test_session_login_opens_workspace(client, demo):
    response = client.post("/login/", {"username": "manager@demo.test", "password": "demo-password"})
    assert response.status_code == 302
    page = client.get("/customers/")
    assert page.status_code == 200 and b"customer-table" in page.content
