"""Privilege-escalation guards on every path that grants: role create/update, user create/update."""

from __future__ import annotations

import pytest

from teams.models import AuditLog, Role
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff and teams (teams.tests.factories.demo_staff), not the whole demo seed."""
    return demo_staff()

BASE_ROLE = {
    "name": "Junior",
    "permissions": ["customers.view"],
    "customer_view_scope": "own",
    "customer_edit_scope": "own",
    "pii_email": "masked",
    "pii_phone": "hidden",
    "can_export_pii": False,
    "approval_level": "agent",
}


@pytest.fixture
def role_manager(demo):
    """A team lead who may manage roles and users, but holds only a manager's rights."""
    manager = demo["manager"]
    role = manager.role
    role.permissions = sorted(set(role.permissions) | {"administration.manage_roles", "administration.manage_users"})
    role.save()
    return manager


@pytest.mark.parametrize(
    "override",
    [
        {"permissions": ["customers.view", "administration.manage_teams"]},  # a permission they lack
        {"customer_view_scope": "all"},
        {"customer_edit_scope": "all"},
        {"pii_email": "full"},
        {"pii_phone": "full"},
        {"can_export_pii": True},
        {"approval_level": "compliance"},
    ],
)
def test_role_create_beyond_own_rights_is_refused(api, role_manager, override):
    api.force_authenticate(role_manager)
    response = api.post("/api/platform/roles", {**BASE_ROLE, **override}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "privilege_escalation"
    assert not Role.objects.filter(name="Junior").exists()


def test_role_create_within_own_rights_is_audited(api, role_manager):
    api.force_authenticate(role_manager)
    response = api.post("/api/platform/roles", BASE_ROLE, format="json")
    assert response.status_code == 201, response.content
    entry = AuditLog.objects.get(action="role.created", object_id=str(response.json()["id"]))
    assert entry.actor == role_manager and entry.before is None and entry.after["name"] == "Junior"


def test_role_update_cannot_raise_beyond_own_or_touch_own_role(api, role_manager, demo):
    api.force_authenticate(role_manager)
    junior = api.post("/api/platform/roles", BASE_ROLE, format="json").json()
    response = api.patch(f"/api/platform/roles/{junior['id']}", {"pii_phone": "full"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "privilege_escalation"
    response = api.patch(f"/api/platform/roles/{role_manager.role_id}", {"name": "boss"}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "privilege_escalation"
    # A stronger role (admin) cannot be edited even to weaken it.
    response = api.patch(f"/api/platform/roles/{demo['admin'].role_id}", {"pii_phone": "hidden"}, format="json")
    assert response.status_code == 403
    response = api.patch(f"/api/platform/roles/{junior['id']}", {"pii_email": "hidden"}, format="json")
    assert response.status_code == 200 and response.json()["pii_email"] == "hidden"


def test_user_create_with_stronger_role_is_refused(api, role_manager, demo):
    api.force_authenticate(role_manager)
    payload = {"email": "new@demo.test", "password": "a-Long-enough-pass-42", "first_name": "N", "last_name": "U",
               "role": demo["admin"].role_id, "team": demo["agent"].team_id}
    response = api.post("/api/platform/users", payload, format="json")
    assert response.status_code == 403 and response.json()["code"] == "privilege_escalation"
    payload["role"] = demo["agent"].role_id
    response = api.post("/api/platform/users", payload, format="json")
    assert response.status_code == 201, response.content
    assert AuditLog.objects.filter(action="user.created", object_id=str(response.json()["id"])).exists()


def test_user_update_guards(api, role_manager, demo):
    api.force_authenticate(role_manager)
    # Nobody changes their own role.
    response = api.patch(f"/api/platform/users/{role_manager.pk}", {"role": demo["agent"].role_id}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "privilege_escalation"
    # Nobody hands out a role beyond their own.
    response = api.patch(f"/api/platform/users/{demo['agent'].pk}", {"role": demo["compliance"].role_id},
                         format="json")
    assert response.status_code == 403
    # Nobody edits a user whose role is beyond their own (e.g. resetting the admin's password).
    response = api.patch(f"/api/platform/users/{demo['admin'].pk}", {"password": "a-Long-enough-pass-42"},
                         format="json")
    assert response.status_code == 403


def test_unknown_permission_and_weak_password_are_field_errors(api, demo):
    api.force_authenticate(demo["admin"])
    response = api.post("/api/platform/roles", {**BASE_ROLE, "permissions": ["nope.nothing"]}, format="json")
    assert response.status_code == 400 and "permissions" in response.json()["fields"]
    response = api.post("/api/platform/users", {"email": "w@demo.test", "password": "123", "role": None},
                        format="json")
    assert response.status_code == 400 and "password" in response.json()["fields"]


def test_permission_catalog_is_32_in_7_categories(api, demo):
    api.force_authenticate(demo["agent"])
    body = api.get("/api/platform/permissions").json()
    assert len(body) == 32
    assert len({p["category"] for p in body}) == 7
    assert all(set(p) == {"code", "category", "description"} for p in body)
