"""Issue #10, sign-in: staff two-factor authentication (TOTP + recovery codes, django-otp)."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from teams.models import AuditLog, Role
from teams.tests.factories import demo_staff
from teams.twofactor import enrolment_confirm, enrolment_device

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff and team tree (teams.tests.factories.demo_staff), not the whole demo seed."""
    return demo_staff()


PASSWORD = "demo-password"


def current_code(device: TOTPDevice) -> str:
    """The authenticator app's code right now, computed from the device's key (as the phone would).

    django-otp refuses a code of an already used time step; tests that sign in several times within 30 seconds
    forget the last used step, as if the next step had come."""
    device.refresh_from_db()
    device.last_t = -1
    device.drift = 0
    device.throttling_failure_count = 0
    device.throttling_failure_timestamp = None
    device.save()
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def unthrottle(user) -> None:
    """django-otp delays a device after a failure (1 s, then doubling): let that time pass."""
    from django_otp.plugins.otp_static.models import StaticDevice

    for model in (StaticDevice, TOTPDevice):
        model.objects.filter(user=user).update(throttling_failure_count=0, throttling_failure_timestamp=None)


def enrol(user) -> tuple[TOTPDevice, list[str]]:
    device = enrolment_device(user)
    codes = enrolment_confirm(user=user, token=current_code(device))
    return TOTPDevice.objects.get(pk=device.pk), codes


def password_login(email: str) -> Client:
    client = Client()
    response = client.post("/login/", {"username": email, "password": PASSWORD})
    assert response.status_code == 302, response.content
    return client


def test_enrolment_from_the_workspace(demo):
    client = password_login("agent@demo.test")
    page = client.get("/account/2fa/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "otpauth://totp/" in html and "<svg" in html
    secret = re.search(r'data-testid="secret">([A-Z2-7]+)<', html).group(1)
    device = TOTPDevice.objects.get(user=demo["agent"], confirmed=False)
    from base64 import b32encode

    assert b32encode(device.bin_key).decode() == secret
    # A wrong code does not enrol.
    assert client.post("/account/2fa/", {"code": "000000"}).status_code == 400
    response = client.post("/account/2fa/", {"code": current_code(device)})
    assert response.status_code == 200
    codes = re.findall(r"<li><code>([a-z2-7]+)</code></li>", response.content.decode())
    assert len(codes) == 10
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert set(StaticToken.objects.filter(device__user=demo["agent"]).values_list("token", flat=True)) == set(codes)
    assert AuditLog.objects.filter(action="user.2fa_enabled", object_id=str(demo["agent"].pk)).exists()
    # Shown once: the page now only says 2FA is on.
    again = client.get("/account/2fa/").content.decode()
    assert 'data-testid="2fa-enabled"' in again and codes[0] not in again
    # This session passed its second factor during enrolment.
    assert client.get("/customers/").status_code == 200


def test_workspace_login_asks_for_the_code_after_the_password(demo):
    device, _ = enrol(demo["agent"])
    client = password_login("agent@demo.test")
    response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"].startswith("/login/verify/?next=%2Fcustomers%2F")
    # Neither the API with the session, nor the admin site, nor a write opens before the code.
    api = client.get("/api/crm/customers")
    assert api.status_code == 401 and api.json()["code"] == "otp_required"
    assert client.get("/admin/").status_code == 302
    assert client.get("/account/2fa/").status_code == 302
    assert client.get("/login/verify/").status_code == 200
    assert client.post("/login/verify/", {"code": "123456", "next": "/customers/"}).status_code == 400
    response = client.post("/login/verify/", {"code": current_code(device), "next": "/customers/"})
    assert response.status_code == 302 and response["Location"] == "/customers/"
    assert client.get("/customers/").status_code == 200
    assert client.get("/api/crm/customers").status_code == 200


def test_recovery_code_signs_in_once(demo):
    _, codes = enrol(demo["agent"])
    client = password_login("agent@demo.test")
    assert client.post("/login/verify/", {"code": codes[0]}).status_code == 302
    assert client.get("/customers/").status_code == 200
    other = password_login("agent@demo.test")
    assert other.post("/login/verify/", {"code": codes[0]}).status_code == 400


def test_a_new_password_login_in_a_verified_session_asks_again(demo):
    device, _ = enrol(demo["agent"])
    client = password_login("agent@demo.test")
    client.post("/login/verify/", {"code": current_code(device)})
    assert client.get("/customers/").status_code == 200
    client.post("/logout/")
    client.post("/login/", {"username": "agent@demo.test", "password": PASSWORD})
    assert client.get("/customers/").status_code == 302


def token(body: dict):
    return APIClient().post("/api/auth/token", body, format="json")


def test_token_login_of_a_user_with_2fa_needs_the_code(demo):
    device, codes = enrol(demo["agent"])
    base = {"email": "agent@demo.test", "password": PASSWORD}
    response = token(base)
    assert response.status_code == 401 and response.json()["code"] == "otp_required"
    response = token({**base, "otp": "000000"})
    assert response.status_code == 401 and response.json()["code"] == "invalid_otp"
    response = token({**base, "otp": current_code(device)})
    assert response.status_code == 200 and response.json()["token"]
    unthrottle(demo["agent"])
    assert token({**base, "otp": codes[1]}).status_code == 200
    assert token({**base, "otp": codes[1]}).json()["code"] == "invalid_otp"  # used up
    # A wrong password still says only that, whatever the code.
    response = token({"email": "agent@demo.test", "password": "nope", "otp": current_code(device)})
    assert response.status_code == 401 and response.json()["code"] == "invalid_credentials"
    # Users without 2FA are unchanged.
    assert token({"email": "manager@demo.test", "password": PASSWORD}).status_code == 200


def test_role_requiring_2fa_forces_enrolment(demo):
    Role.objects.filter(pk=demo["agent"].role_id).update(requires_2fa=True)
    client = password_login("agent@demo.test")
    response = client.get("/customers/")
    assert response.status_code == 302 and response["Location"].startswith("/account/2fa/")
    api = client.get("/api/crm/customers")
    assert api.status_code == 403 and api.json()["code"] == "otp_enrollment_required"
    page = client.get("/account/2fa/")
    assert b"requires two-factor" in page.content
    response = token({"email": "agent@demo.test", "password": PASSWORD})
    assert response.status_code == 403 and response.json()["code"] == "otp_enrollment_required"
    device = TOTPDevice.objects.get(user=demo["agent"], confirmed=False)
    assert client.post("/account/2fa/", {"code": current_code(device)}).status_code == 200
    assert client.get("/customers/").status_code == 200


def test_requires_2fa_is_part_of_the_role_api(demo, client_for):
    admin = client_for("admin")
    body = {"name": "Desk", "permissions": ["customers.view"], "customer_view_scope": "own",
            "customer_edit_scope": "none", "pii_email": "masked", "pii_phone": "hidden", "requires_2fa": True}
    response = admin.post("/api/platform/roles", body, format="json")
    assert response.status_code == 201 and response.json()["requires_2fa"] is True
    role_id = response.json()["id"]
    response = admin.patch(f"/api/platform/roles/{role_id}", {"requires_2fa": False}, format="json")
    assert response.status_code == 200 and response.json()["requires_2fa"] is False


def test_enforced_settings_require_2fa_for_money_and_user_admin_roles(demo, client_for, settings):
    """Production (STAFF_2FA_ENFORCED, the default with DEBUG off): approving money or managing users needs 2FA."""
    settings.STAFF_2FA_ENFORCED = True
    admin = client_for("admin")
    body = {"name": "Approvers", "permissions": ["finance.approve_transactions"], "customer_view_scope": "own",
            "customer_edit_scope": "none", "pii_email": "masked", "pii_phone": "hidden", "approval_level": "agent"}
    response = admin.post("/api/platform/roles", body, format="json")
    assert response.status_code == 400 and "requires_2fa" in response.json()["fields"]
    response = admin.post("/api/platform/roles", {**body, "requires_2fa": True}, format="json")
    assert response.status_code == 201
    response = admin.patch(f"/api/platform/roles/{response.json()['id']}", {"requires_2fa": False}, format="json")
    assert response.status_code == 400
    # Existing users of such roles (the demo admin: every permission) must enrol before anything else ...
    client = password_login("admin@demo.test")
    assert client.get("/customers/").status_code == 302
    assert token({"email": "admin@demo.test", "password": PASSWORD}).json()["code"] == "otp_enrollment_required"
    # ... while a role that neither approves money nor manages users signs in as before.
    from teams.models import User

    viewer = Role.objects.create(name="Viewer", permissions=["customers.view"])
    User.objects.create_user("viewer@demo.test", PASSWORD, role=viewer, team=demo["agent"].team)
    assert password_login("viewer@demo.test").get("/customers/").status_code == 200


def test_superuser_resets_a_lost_device_from_the_admin(demo):
    from teams.models import User

    enrol(demo["agent"])
    root = User.objects.create_superuser("root@demo.test", "root-password-123")
    admin_site = Client()
    admin_site.force_login(root)
    response = admin_site.post("/admin/teams/user/", {"action": "reset_2fa", "_selected_action": [demo["agent"].pk]})
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=demo["agent"]).exists()
    assert not StaticToken.objects.filter(device__user=demo["agent"]).exists()
    assert AuditLog.objects.filter(action="user.2fa_reset", object_id=str(demo["agent"].pk), actor=root).exists()
    assert token({"email": "agent@demo.test", "password": PASSWORD}).status_code == 200
