"""Issue #14: the administration pages of teams (team tree, users, roles, audit log). They call the platform API's
services: refusals (permission, escalation, subtree) come back in words next to the form, and nothing changes."""

from __future__ import annotations

import pytest
from django.test import Client

from teams.models import AuditLog, Role, Team, User
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff and team tree (teams.tests.factories.demo_staff), not the whole demo seed."""
    return demo_staff()


@pytest.fixture
def browse(demo):
    def make(name_or_user):
        client = Client()
        client.force_login(demo[name_or_user] if isinstance(name_or_user, str) else name_or_user)
        return client

    return make


@pytest.fixture
def user_admin(demo):
    """A staff administrator of Sales EU: may manage users and teams there, holds little else."""
    role = Role.objects.create(name="eu user admin", permissions=[
        "administration.view_teams", "administration.manage_users", "administration.manage_teams",
        "customers.view"], customer_view_scope="team", customer_edit_scope="none")
    return User.objects.create_user("useradmin@demo.test", "Useradmin-pass-9x", role=role,
                                    team=Team.objects.get(name="Sales EU"))


def test_nav_shows_administration_only_to_holders(browse):
    assert b'href="/administration/"' in browse("admin").get("/customers/").content
    assert b'href="/administration/"' in browse("manager").get("/customers/").content  # view_teams
    assert b'href="/administration/"' not in browse("agent").get("/customers/").content
    assert browse("agent").get("/administration/").status_code == 403
    index = browse("compliance").get("/administration/")
    assert index.status_code == 200 and b"Audit log" in index.content and b"Promo codes" not in index.content


def test_admin_creates_a_user_and_the_audit_log_records_it(browse, demo):
    uk = Team.objects.get(name="Sales UK")
    client = browse("admin")
    response = client.post("/administration/users/", {
        "email": "New.Agent@demo.test", "first_name": "Nia", "last_name": "New", "password": "Str0ng-enough-pass",
        "role": demo["agent"].role_id, "team": uk.pk})
    created = User.objects.get(email="new.agent@demo.test")
    assert response.status_code == 302 and response["Location"] == f"/administration/users/{created.pk}/"
    assert created.role == demo["agent"].role and created.team == uk and created.check_password("Str0ng-enough-pass")
    assert AuditLog.objects.filter(action="user.created", object_id=str(created.pk), actor=demo["admin"]).exists()
    page = client.get(response["Location"])
    assert "User new.agent@demo.test created as agent in Sales UK." in page.content.decode()


def test_user_form_errors_are_words_next_to_the_field(browse, demo):
    client = browse("admin")
    weak = client.post("/administration/users/", {"email": "weak@demo.test", "password": "123", "role": ""})
    assert weak.status_code == 400 and not User.objects.filter(email="weak@demo.test").exists()
    text = weak.content.decode()
    assert 'data-testid="error-password"' in text and "too short" in text
    assert 'value="weak@demo.test"' in text  # the typed values stay
    dup = client.post("/administration/users/", {"email": "agent@demo.test", "password": "Str0ng-enough-pass"})
    assert dup.status_code == 400 and "A user with that email exists." in dup.content.decode()
    bad = client.post("/administration/users/", {"email": "not-an-email", "password": "Str0ng-enough-pass"})
    assert bad.status_code == 400 and "Enter a valid email address." in bad.content.decode()


def test_escalation_is_refused_in_words_and_nothing_changes(browse, demo, user_admin):
    client = browse(user_admin)
    eu = Team.objects.get(name="Sales EU")
    response = client.post("/administration/users/", {"email": "boss@demo.test", "password": "Str0ng-enough-pass",
                                                      "role": demo["admin"].role_id, "team": eu.pk})
    assert response.status_code == 403 and not User.objects.filter(email="boss@demo.test").exists()
    text = response.content.decode()
    assert "You cannot grant what you do not hold" in text
    assert "Approve or reject transactions up to the role&#x27;s approval level" in text  # the catalog's words
    assert "a wider customer view scope" in text and "exporting personal data" in text
    # A team outside their subtree: refused in words too.
    head = Team.objects.get(name="Head Office")
    outside = client.post("/administration/users/", {"email": "x@demo.test", "password": "Str0ng-enough-pass",
                                                     "team": head.pk})
    assert outside.status_code == 403 and "You can only place users in your own team subtree." in \
        outside.content.decode()
    # Editing a stronger user: the page says why before any attempt, and the attempt changes nothing.
    page = client.get(f"/administration/users/{demo['manager'].pk}/")
    assert page.status_code == 200 and "You cannot change this user" in page.content.decode()
    refused = client.post(f"/administration/users/{demo['manager'].pk}/", {"verb": "deactivate"})
    assert refused.status_code == 403
    demo["manager"].refresh_from_db()
    assert demo["manager"].is_active
    # Their own role: refused.
    own = client.post(f"/administration/users/{user_admin.pk}/", {"verb": "update", "first_name": "U",
                                                                   "role": demo["admin"].role_id, "team": eu.pk})
    assert own.status_code == 403 and "You cannot change your own role." in own.content.decode()


def test_deactivate_and_reset_password(browse, demo):
    client = browse("admin")
    agent2 = demo["agent2"]
    assert client.post(f"/administration/users/{agent2.pk}/", {"verb": "password", "password": "1"}).status_code \
        == 400
    response = client.post(f"/administration/users/{agent2.pk}/", {"verb": "password",
                                                                   "password": "Another-str0ng-pass"})
    assert response.status_code == 302
    agent2.refresh_from_db()
    assert agent2.check_password("Another-str0ng-pass")
    assert AuditLog.objects.filter(action="user.password_reset", object_id=str(agent2.pk)).exists()
    client.post(f"/administration/users/{agent2.pk}/", {"verb": "deactivate"})
    agent2.refresh_from_db()
    assert not agent2.is_active
    page = client.get(f"/administration/users/{agent2.pk}/")
    assert b"deactivated" in page.content and b'data-confirm="Let agent2@demo.test sign in again?"' in page.content


@pytest.mark.parametrize("persona", ["manager", "agent", "compliance"])
def test_user_changes_need_manage_users(browse, demo, persona):
    client = browse(persona)
    before = User.objects.count()
    assert client.post("/administration/users/", {"email": "z@demo.test", "password": "Str0ng-enough-pass"}) \
        .status_code == 403
    assert client.post(f"/administration/users/{demo['agent2'].pk}/", {"verb": "deactivate"}).status_code == 403
    assert User.objects.count() == before and User.objects.get(pk=demo["agent2"].pk).is_active


def test_team_tree_create_rename_move(browse, demo):
    client = browse("admin")
    eu, latam = Team.objects.get(name="Sales EU"), Team.objects.get(name="Sales LATAM")
    assert client.post("/administration/teams/", {"verb": "create", "name": "Sales IE", "parent": eu.pk}) \
        .status_code == 302
    ie = Team.objects.get(name="Sales IE")
    assert ie.parent == eu and ie.path.startswith(eu.path)
    client.post("/administration/teams/", {"verb": "rename", "team": ie.pk, "name": "Sales Ireland"})
    client.post("/administration/teams/", {"verb": "move", "team": ie.pk, "parent": latam.pk})
    ie.refresh_from_db()
    assert ie.name == "Sales Ireland" and ie.parent == latam and ie.path.startswith(latam.path)
    # A cycle is refused in words, with 409.
    cycle = client.post("/administration/teams/", {"verb": "move", "team": latam.pk, "parent": ie.pk})
    assert cycle.status_code == 409 and "cannot move under itself" in cycle.content.decode()
    empty = client.post("/administration/teams/", {"verb": "create", "name": " "})
    assert empty.status_code == 400 and "Give the team a name." in empty.content.decode()
    page = client.get("/administration/teams/").content.decode()
    assert "Sales Ireland" in page and "data-confirm=" in page


def test_team_changes_outside_the_subtree_or_without_permission(browse, demo, user_admin):
    latam = Team.objects.get(name="Sales LATAM")
    response = browse(user_admin).post("/administration/teams/", {"verb": "rename", "team": latam.pk, "name": "X"})
    assert response.status_code == 403 and "outside your team subtree" in response.content.decode()
    assert browse("manager").post("/administration/teams/", {"verb": "rename", "team": latam.pk, "name": "X"}) \
        .status_code == 403  # view_teams only
    assert Team.objects.get(pk=latam.pk).name == "Sales LATAM"


def test_roles_escalation_refused_in_words(browse, demo):
    role = Role.objects.create(name="role editor", permissions=["administration.manage_roles", "customers.view"],
                               customer_view_scope="team")
    editor = User.objects.create_user("roles@demo.test", "Roles-pass-9xy", role=role,
                                      team=Team.objects.get(name="Sales UK"))
    client = browse(editor)
    response = client.post("/administration/roles/", {
        "name": "approver", "permissions": ["customers.view", "finance.approve_transactions"],
        "customer_view_scope": "all", "customer_edit_scope": "none", "pii_email": "hidden", "pii_phone": "hidden",
        "approval_level": "none"})
    assert response.status_code == 403 and not Role.objects.filter(name="approver").exists()
    text = response.content.decode()
    assert "Approve or reject transactions" in text and "a wider customer view scope" in text
    assert 'value="finance.approve_transactions" checked' in text  # the form keeps what was ticked
    ok = client.post("/administration/roles/", {
        "name": "viewer", "permissions": ["customers.view"], "customer_view_scope": "own",
        "customer_edit_scope": "none", "pii_email": "hidden", "pii_phone": "hidden", "approval_level": "none"})
    assert ok.status_code == 302 and Role.objects.get(name="viewer").permissions == ["customers.view"]
    bad = client.post("/administration/roles/", {"name": "", "customer_view_scope": "everyone"})
    assert bad.status_code == 400 and "This field may not be blank." in bad.content.decode()
    assert "is not a valid choice." in bad.content.decode()
    # Their own role: refused.
    own = client.post(f"/administration/roles/{role.pk}/", {
        "name": "role editor", "permissions": ["customers.view"], "customer_view_scope": "own",
        "customer_edit_scope": "none", "pii_email": "hidden", "pii_phone": "hidden", "approval_level": "none"})
    assert own.status_code == 403 and "You cannot change your own role." in own.content.decode()
    assert browse("manager").get("/administration/roles/").status_code == 403


def test_audit_log_filters_and_pagination(browse, demo):
    client = browse("admin")
    for i in range(55):
        client.post("/administration/teams/", {"verb": "create", "name": f"T{i}",
                                               "parent": Team.objects.get(name="Head Office").pk})
    page = client.get("/administration/audit-log/", {"action": "team.created", "actor": "admin@"})
    text = page.content.decode()
    assert page.status_code == 200 and "55 entries" in text and "Page 1 of 2" in text
    second = client.get("/administration/audit-log/", {"action": "team.created", "actor": "admin@", "page": 2})
    assert second.content.decode().count("team.created") >= 5
    bad = client.get("/administration/audit-log/", {"date_from": "31/01/2026"})
    assert bad.status_code == 400 and "A date such as 2026-01-31." in bad.content.decode()
    none = client.get("/administration/audit-log/", {"date_to": "2000-01-01"})
    assert "No entry matches." in none.content.decode()
    assert browse("manager").get("/administration/audit-log/").status_code == 403
    assert browse("compliance").get("/administration/audit-log/").status_code == 200
