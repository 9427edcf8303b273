"""Issue #10, API tokens: hashed at rest, expiring (API_TOKEN_TTL_DAYS), revoked on password change and
deactivation, listed and revoked by their holder; `POST /api/auth/token` keeps API.md's contract."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from teams import conf
from teams.models import ApiToken, AuditLog, User
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff and team tree (teams.tests.factories.demo_staff), not the whole demo seed."""
    return demo_staff()


def login(email: str = "agent@demo.test", password: str = "demo-password", **headers) -> str:
    response = APIClient().post("/api/auth/token", {"email": email, "password": password}, format="json", **headers)
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"token"}
    return response.json()["token"]


def bearer(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_token_is_stored_hashed_and_expires_after_the_configured_days(demo, monkeypatch):
    monkeypatch.setattr(conf, "API_TOKEN_TTL_DAYS", 7)
    key = login()
    token = ApiToken.objects.get(user=demo["agent"])
    assert key not in (token.key_hash, token.prefix) and token.prefix == key[:8]
    assert not ApiToken.objects.filter(key_hash=key).exists()
    assert timedelta(days=7) - timedelta(minutes=1) < token.expires_at - timezone.now() <= timedelta(days=7)
    assert bearer(key).get("/api/crm/customers").status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = bearer(key).get("/api/crm/customers")
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"


def test_default_lifetime_is_30_days(demo):
    assert conf.API_TOKEN_TTL_DAYS == 30
    login()
    token = ApiToken.objects.get(user=demo["agent"])
    assert token.expires_at - token.created_at == timedelta(days=30)


def test_password_changed_by_any_path_kills_tokens(demo):
    key = login()
    agent = User.objects.get(email="agent@demo.test")
    agent.set_password("another-Long-pass-77")  # e.g. the admin site or `manage.py changepassword`
    agent.save()
    assert bearer(key).get("/api/crm/customers").status_code == 401


def test_own_password_change_over_the_api_revokes_own_tokens(demo):
    admin_key = login("admin@demo.test")
    other_key = login("admin@demo.test")
    response = bearer(admin_key).patch(f"/api/platform/users/{demo['admin'].pk}",
                                       {"password": "another-Long-pass-77"}, format="json")
    assert response.status_code == 200
    assert ApiToken.objects.filter(user=demo["admin"]).count() == 0
    assert bearer(other_key).get("/api/crm/customers").status_code == 401
    assert AuditLog.objects.filter(action="user.password_changed", object_id=str(demo["admin"].pk)).exists()


def test_holder_lists_and_revokes_own_tokens_only(demo):
    first = login(HTTP_USER_AGENT="laptop script")
    second = login()
    agent_tokens = bearer(first).get("/api/auth/tokens")
    assert agent_tokens.status_code == 200
    body = agent_tokens.json()
    assert len(body) == 2
    assert set(body[0]) == {"id", "name", "prefix", "created_at", "last_used_at", "expires_at", "current"}
    assert [t["current"] for t in body if t["prefix"] == first[:8]] == [True]
    assert "laptop script" in {t["name"] for t in body}
    assert all(first not in str(t.values()) and second not in str(t.values()) for t in body)
    assert next(t for t in body if t["prefix"] == first[:8])["last_used_at"] is not None

    # Someone else's token is not theirs to see or revoke.
    manager_key = login("manager@demo.test")
    manager_token = ApiToken.objects.get(user=demo["manager"])
    assert bearer(first).delete(f"/api/auth/tokens/{manager_token.pk}").status_code == 404
    assert bearer(manager_key).get("/api/crm/customers").status_code == 200
    assert len(bearer(manager_key).get("/api/auth/tokens").json()) == 1

    second_id = next(t["id"] for t in body if t["prefix"] == second[:8])
    assert bearer(first).delete(f"/api/auth/tokens/{second_id}").status_code == 204
    assert bearer(second).get("/api/crm/customers").status_code == 401
    assert bearer(first).get("/api/crm/customers").status_code == 200
    assert AuditLog.objects.filter(action="api_token.revoked", object_id=str(demo["agent"].pk)).exists()


def test_revoke_endpoint_of_api_md_revokes_the_current_token(demo):
    first, second = login(), login()
    assert bearer(first).delete("/api/auth/token/revoke").status_code == 204
    assert bearer(first).get("/api/crm/customers").status_code == 401
    assert bearer(second).get("/api/crm/customers").status_code == 200


def test_tokens_of_an_inactive_user_do_not_work(demo):
    key = login()
    User.objects.filter(email="agent@demo.test").update(is_active=False)
    assert bearer(key).get("/api/crm/customers").status_code == 401


def test_token_endpoints_need_authentication_and_are_in_the_schema(demo):
    assert APIClient().get("/api/auth/tokens").status_code == 401
    assert APIClient().delete("/api/auth/tokens/1").status_code == 401
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    paths = schema.json()["paths"] if schema["Content-Type"].startswith("application/json") else None
    if paths is None:
        import yaml

        paths = yaml.safe_load(schema.content)["paths"]
    assert "get" in paths["/api/auth/tokens"] and "delete" in paths["/api/auth/tokens/{id}"]


def test_token_lookup_is_one_query_with_the_user_role_and_team_and_sees_changes_at_once(demo):
    """Issue #16: the lookup is hand-written SQL built once per process (the ORM's compilation was most of a token
    request's CPU). It must load what `select_related` loaded, convert values as the ORM does (JSON permissions,
    aware datetimes), and read the rows fresh on every request: role, team, activity and revocation apply at once."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from teams.tokens import token_authenticate

    agent = demo["agent"]
    assert agent.role is not None and agent.team is not None
    key = login()
    token_authenticate(key)  # the first use writes last_used_at
    with CaptureQueriesContext(connection) as captured:
        token = token_authenticate(key)
        user, role, team = token.user, token.user.role, token.user.team
        assert user.holds(next(iter(role.permission_set)))
    assert len(captured) == 1
    assert (user.pk, role.pk, team.pk) == (agent.pk, agent.role.pk, agent.team.pk)
    assert isinstance(role.permissions, list) and role.permissions == agent.role.permissions
    assert token.expires_at.tzinfo is not None and user.date_joined == agent.date_joined
    assert user.email == agent.email and team.path == agent.team.path and not token._state.adding

    # A role change, a user without role or team, deactivation and revocation all apply to the next request.
    agent.role.permissions = []
    agent.role.save()
    assert token_authenticate(key).user.role.permissions == []
    User.objects.filter(pk=agent.pk).update(role=None, team=None)
    token = token_authenticate(key)
    assert token.user.role is None and token.user.team is None
    User.objects.filter(pk=agent.pk).update(is_active=False)
    assert token_authenticate(key) is None
    User.objects.filter(pk=agent.pk).update(is_active=True)
    assert token_authenticate(key) is not None
    assert bearer(key).delete("/api/auth/token/revoke").status_code == 204
    assert token_authenticate(key) is None
    assert token_authenticate("0" * 40) is None
