"""Issue #10, sign-in: lockouts per account from any address, a per-address limit, and unlocking (django-axes)."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from teams.models import AuditLog
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff and teams (teams.tests.factories.demo_staff), not the whole demo seed."""
    return demo_staff()

TOKEN = "/api/auth/token"


def token_login(email: str, password: str, address: str):
    return APIClient().post(TOKEN, {"email": email, "password": password}, format="json", REMOTE_ADDR=address)


def test_guesses_spread_over_addresses_lock_the_account(demo, settings):
    """Issue #10: 16 guesses over 4 addresses never locked, and the right password from another address worked."""
    settings.AXES_FAILURE_LIMIT = 5
    statuses = [token_login("agent@demo.test", "wrong-guess", f"10.0.0.{i % 4 + 1}").status_code for i in range(16)]
    assert 429 in statuses
    assert statuses[:4] == [401] * 4
    # The right password from a fresh address is refused while the account is locked.
    response = token_login("agent@demo.test", "demo-password", "192.0.2.77")
    assert response.status_code == 429 and response.json()["code"] == "rate_limited"
    assert "Retry-After" in response
    # Another account is not affected.
    assert token_login("manager@demo.test", "demo-password", "192.0.2.77").status_code == 200


def test_workspace_form_login_locks_the_account_from_any_address(client, demo, settings):
    settings.AXES_FAILURE_LIMIT = 5
    for i in range(5):
        client.post("/login/", {"username": "agent@demo.test", "password": "nope"}, REMOTE_ADDR=f"10.1.0.{i}")
    response = client.post("/login/", {"username": "agent@demo.test", "password": "demo-password"},
                           REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 429 and b"Too many failed logins" in response.content
    assert "_auth_user_id" not in client.session


def test_per_address_limit_over_many_accounts(demo, settings):
    settings.AXES_FAILURE_LIMIT = 5
    settings.AXES_IP_FAILURE_LIMIT = 8
    for i in range(7):
        assert token_login(f"nobody{i}@demo.test", "guess", "10.9.9.9").status_code == 401
    assert token_login("nobody7@demo.test", "guess", "10.9.9.9").status_code == 429  # the 8th failure locks
    # The address is locked, even for a real account's right password ...
    assert token_login("agent@demo.test", "demo-password", "10.9.9.9").status_code == 429
    # ... while the same account from another address still works (it had no failures).
    assert token_login("agent@demo.test", "demo-password", "10.9.9.10").status_code == 200


def test_successful_login_does_not_clear_the_address_failures(demo, settings):
    settings.AXES_FAILURE_LIMIT = 50
    settings.AXES_IP_FAILURE_LIMIT = 4
    for i in range(3):
        token_login(f"victim{i}@demo.test", "guess", "10.7.7.7")
    assert token_login("agent@demo.test", "demo-password", "10.7.7.7").status_code == 200
    assert token_login("victim9@demo.test", "guess", "10.7.7.7").status_code in (401, 429)
    assert token_login("agent@demo.test", "demo-password", "10.7.7.7").status_code == 429


def _lock(email: str, settings) -> None:
    for i in range(settings.AXES_FAILURE_LIMIT):
        token_login(email, "wrong", f"10.2.0.{i}")
    assert token_login(email, "demo-password", "10.2.1.1").status_code == 429


def test_admin_unlocks_through_the_api(demo, client_for, settings):
    _lock("agent@demo.test", settings)
    agent = demo["agent"]
    # The locked user's peer without administration.manage_users cannot unlock.
    response = client_for("agent2").post(f"/api/platform/users/{agent.pk}/unlock")
    assert response.status_code == 403 and response.json()["code"] == "permission_denied"
    response = client_for("admin").post(f"/api/platform/users/{agent.pk}/unlock")
    assert response.status_code == 200 and response.json()["cleared_failures"] >= 1
    assert AuditLog.objects.filter(action="user.unlocked", object_id=str(agent.pk), actor=demo["admin"]).exists()
    assert token_login("agent@demo.test", "demo-password", "10.2.1.1").status_code == 200


def test_unlock_with_the_management_command(demo, settings):
    _lock("agent@demo.test", settings)
    call_command("axes_reset_username", "agent@demo.test", stdout=io.StringIO())
    assert token_login("agent@demo.test", "demo-password", "10.2.1.1").status_code == 200


def test_unlock_from_the_admin_site(client, demo, settings):
    _lock("agent@demo.test", settings)
    from teams.models import User

    superuser = User.objects.create_superuser("root@demo.test", "root-password-123")
    client.force_login(superuser)
    response = client.post("/admin/teams/user/", {"action": "unlock", "_selected_action": [demo["agent"].pk]})
    assert response.status_code == 302
    assert token_login("agent@demo.test", "demo-password", "10.2.1.1").status_code == 200
