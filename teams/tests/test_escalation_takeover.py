"""Issue #10, escalation: nobody changes a user stronger than they are, nor places users or shapes the team tree
outside their own subtree; password resets are audited without the secret and end the user's tokens and sessions.

The tables run inside one seeded database; each case runs in a savepoint that is rolled back, so the cases are
independent without seeding the demo once per case."""

from __future__ import annotations

import pytest
from django.db import transaction
from rest_framework.test import APIClient

from teams.models import AuditLog, Role, Team, User
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff and team tree (teams.tests.factories.demo_staff), not the whole demo seed."""
    return demo_staff()


NEW_PASSWORD = "a-Long-enough-pass-42"


@pytest.fixture
def cast(demo):
    """The personas of these tables.

    - `root`: a superuser without role or team, as `createsuperuser` makes;
    - `admin`: the demo admin (every permission, view scope all, admin site);
    - `lead`: a "team admin": the demo manager's rights plus manage_users and manage_teams, on Sales EU (which
      they lead), view scope team;
    - `agent` (Sales UK, inside lead's subtree), `agent4` (Sales LATAM, outside it)."""
    role = Role.objects.get(name="manager")
    team_admin = Role.objects.create(
        name="team admin",
        permissions=sorted(set(role.permissions) | {"administration.manage_users", "administration.manage_teams"}),
        **{f: getattr(role, f) for f in ("customer_view_scope", "customer_edit_scope", "pii_email", "pii_phone",
                                         "can_export_pii", "approval_level")},
    )
    lead = demo["manager"]
    User.objects.filter(pk=lead.pk).update(role=team_admin)
    root = User.objects.create_superuser("root@demo.test", "root-password-Xy9")
    teams = {t.name: t for t in Team.objects.all()}
    people = {"root": root, "admin": demo["admin"], "lead": User.objects.get(pk=lead.pk), "agent": demo["agent"],
              "agent4": demo["agent4"], "compliance": demo["compliance"]}
    return {"people": people, "teams": teams, "roles": {r.name: r for r in Role.objects.all()}}


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(User.objects.select_related("role", "team").get(pk=user.pk))
    return client


def _run(method: str, actor, url: str, payload: dict):
    """One request in a savepoint that is rolled back afterwards."""
    with transaction.atomic():
        response = getattr(_client(actor), method)(url, payload, format="json")
        transaction.set_rollback(True)
    return response


def _value(cast, spec):
    """Payload values name personas, teams and roles symbolically: ("team", "Sales UK") → its id."""
    if isinstance(spec, tuple):
        kind, name = spec
        return {"team": cast["teams"], "user": cast["people"], "role": cast["roles"]}[kind][name].pk
    return spec


# Every writable field of a user (PATCH /api/platform/users/<id>), with a value a caller might send.
USER_FIELDS = {
    "password": NEW_PASSWORD,
    "first_name": "Mallory",
    "last_name": "Mallory",
    "role": ("role", "agent"),
    "team": ("team", "Sales UK"),
    "is_active": False,
}

# (actor, target, field, expected status) — 403 is always privilege_escalation.
USER_TABLE = (
    # A superuser (even roleless) is stronger than everyone but a superuser: every field refused.
    [("admin", "root", field, 403) for field in USER_FIELDS]
    + [("lead", "root", field, 403) for field in USER_FIELDS]
    # The demo admin holds more than the team admin (permissions, scope, PII, export, approval, admin site).
    + [("lead", "admin", field, 403) for field in USER_FIELDS]
    # Compliance sees all customers and full PII: stronger than the team admin in those dimensions.
    + [("lead", "compliance", field, 403) for field in USER_FIELDS]
    # Outside the team admin's subtree (Sales LATAM): refused, even for a weaker user.
    + [("lead", "agent4", field, 403) for field in USER_FIELDS]
    # Inside the subtree and weaker: allowed.
    + [("lead", "agent", field, 200) for field in USER_FIELDS]
    + [("admin", "agent4", field, 200) for field in USER_FIELDS]
    # A superuser may change anyone, a superuser included.
    + [("root", "admin", field, 200) for field in USER_FIELDS]
)


def test_user_patch_every_field_against_stronger_or_out_of_reach_users(cast):
    failures = []
    for actor, target, field, expected in USER_TABLE:
        people = cast["people"]
        payload = {field: _value(cast, USER_FIELDS[field])}
        if field == "team" and target == "agent":
            payload = {"team": cast["teams"]["Sales EU"].pk}  # a real move, still inside the lead's subtree
        response = _run("patch", people[actor], f"/api/platform/users/{people[target].pk}", payload)
        ok = response.status_code == expected and (
            expected != 403 or response.json().get("code") == "privilege_escalation")
        if not ok:
            failures.append((actor, target, field, response.status_code, response.content[:120]))
    assert not failures, failures
    root = User.objects.get(email="root@demo.test")
    assert root.check_password("root-password-Xy9") and root.is_active and root.role is None


# (actor, payload on themselves, expected): nobody changes their own team or role; other own fields are fine.
SELF_TABLE = [
    ("lead", {"team": ("team", "Head Office")}, 403),
    ("lead", {"team": ("team", "Sales UK")}, 403),  # even a move inside their subtree
    ("lead", {"role": ("role", "admin")}, 403),
    ("lead", {"role": ("role", "agent")}, 403),
    ("admin", {"team": ("team", "Sales UK")}, 403),
    ("admin", {"role": ("role", "agent")}, 403),
    ("lead", {"first_name": "Maria"}, 200),
    ("lead", {"password": NEW_PASSWORD}, 200),
    ("lead", {"team": ("team", "Sales EU")}, 200),  # unchanged: not a change of team
    ("root", {"team": ("team", "Head Office")}, 200),
]


def test_nobody_changes_their_own_team_or_role(cast):
    failures = []
    for actor, spec, expected in SELF_TABLE:
        person = cast["people"][actor]
        payload = {k: _value(cast, v) for k, v in spec.items()}
        response = _run("patch", person, f"/api/platform/users/{person.pk}", payload)
        if response.status_code != expected or (expected == 403
                                                and response.json()["code"] != "privilege_escalation"):
            failures.append((actor, spec, response.status_code, response.content[:120]))
    assert not failures, failures
    assert User.objects.get(pk=cast["people"]["lead"].pk).team.name == "Sales EU"


def test_issue_repro_team_admin_moves_self_to_root_team(cast):
    lead = cast["people"]["lead"]
    head = cast["teams"]["Head Office"]
    response = _client(lead).patch(f"/api/platform/users/{lead.pk}", {"team": head.pk}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "privilege_escalation"
    assert User.objects.get(pk=lead.pk).team.name == "Sales EU"


@pytest.mark.parametrize("dimension", [
    {"permissions": "+finance.manage_payment_routes"},
    {"customer_view_scope": "all"},
    {"customer_edit_scope": "all"},
    {"pii_email": "full"},
    {"pii_phone": "full"},
    {"can_export_pii": True},
    {"approval_level": "compliance"},
    {"is_staff": True},
    {"is_superuser": True},
])
def test_a_user_stronger_in_any_single_dimension_is_untouchable(cast, dimension):
    """A user in the team admin's own subtree, equal to them except in one dimension."""
    lead = cast["people"]["lead"]
    base = lead.role
    values = {f: getattr(base, f) for f in ("permissions", "customer_view_scope", "customer_edit_scope",
                                            "pii_email", "pii_phone", "can_export_pii", "approval_level")}
    user_flags = {}
    for key, value in dimension.items():
        if key == "permissions":
            values["permissions"] = sorted(set(base.permissions) | {value[1:]})
        elif key.startswith("is_"):
            user_flags[key] = value
        else:
            values[key] = value
    role = Role.objects.create(name="peer-plus", **values)
    peer = User.objects.create_user("peer@demo.test", "peer-password-Xy9", role=role,
                                    team=cast["teams"]["Sales UK"], **user_flags)
    for field, spec in USER_FIELDS.items():
        response = _run("patch", lead, f"/api/platform/users/{peer.pk}", {field: _value(cast, spec)})
        assert response.status_code == 403, (field, response.content)
        assert response.json()["code"] == "privilege_escalation"
    peer.refresh_from_db()
    assert peer.check_password("peer-password-Xy9") and peer.role_id == role.pk and peer.is_active


def test_an_equal_peer_inside_the_subtree_can_be_changed(cast):
    lead = cast["people"]["lead"]
    peer = User.objects.create_user("peer@demo.test", "peer-password-Xy9", role=lead.role,
                                    team=cast["teams"]["Sales UK"])
    response = _client(lead).patch(f"/api/platform/users/{peer.pk}", {"first_name": "Pat"}, format="json")
    assert response.status_code == 200


# User creation: (actor, team, role, expected)
CREATE_TABLE = [
    ("lead", "Sales UK", "agent", 201),
    ("lead", "Sales EU", "agent", 201),
    ("lead", "Head Office", "agent", 403),  # outside the subtree
    ("lead", "Sales LATAM", "agent", 403),
    ("lead", "Sales UK", "admin", 403),  # a stronger role
    ("admin", "Sales LATAM", "agent", 201),
]


def test_user_create_places_only_inside_the_subtree(cast):
    failures = []
    for index, (actor, team, role, expected) in enumerate(CREATE_TABLE):
        payload = {"email": f"new{index}@demo.test", "password": NEW_PASSWORD, "first_name": "N", "last_name": "U",
                   "role": cast["roles"][role].pk, "team": cast["teams"][team].pk}
        response = _run("post", cast["people"][actor], "/api/platform/users", payload)
        if response.status_code != expected or (expected == 403
                                                and response.json()["code"] != "privilege_escalation"):
            failures.append((actor, team, role, response.status_code, response.content[:120]))
    assert not failures, failures


# Teams: every writable field (name, parent, lead), PATCH and POST. (actor, method, team, payload, expected)
TEAM_TABLE = [
    # The issue's repros.
    ("lead", "patch", "Head Office", {"lead": ("user", "lead")}, 403),
    ("admin", "patch", "Head Office", {"lead": ("user", "admin")}, 403),  # nobody makes themselves a lead
    ("lead", "patch", "Sales LATAM", {"parent": ("team", "Sales EU")}, 403),  # grafting another team
    ("lead", "patch", "Sales UK", {"lead": ("user", "lead")}, 403),  # even inside their subtree
    # Teams outside the subtree: no field may change.
    ("lead", "patch", "Head Office", {"name": "Mine"}, 403),
    ("lead", "patch", "Sales LATAM", {"name": "Mine"}, 403),
    ("lead", "patch", "Sales LATAM", {"lead": ("user", "agent")}, 403),
    ("lead", "patch", "Finance & Compliance", {"parent": ("team", "Sales UK")}, 403),
    # Moving a team of the subtree out of it, or to the root.
    ("lead", "patch", "Sales UK", {"parent": ("team", "Sales LATAM")}, 403),
    ("lead", "patch", "Sales UK", {"parent": None}, 403),
    # Leads who are stronger (given or taken away) or outside the subtree.
    ("lead", "patch", "Sales UK", {"lead": ("user", "admin")}, 403),
    ("lead", "patch", "Sales UK", {"lead": ("user", "agent4")}, 403),
    ("lead", "patch", "Sales UK", {"lead": ("user", "root")}, 403),
    ("admin", "patch", "Sales UK", {"lead": ("user", "root")}, 403),
    # Allowed inside the subtree.
    ("lead", "patch", "Sales UK", {"name": "Sales UK & IE"}, 200),
    ("lead", "patch", "Sales UK", {"lead": ("user", "agent")}, 200),
    ("lead", "patch", "Sales UK", {"parent": ("team", "Sales EU")}, 200),
    ("lead", "patch", "Sales EU", {"name": "Sales Europe"}, 200),
    # The unrestricted (view scope all) shape the whole tree, but never lead themselves.
    ("admin", "patch", "Sales LATAM", {"parent": ("team", "Sales EU")}, 200),
    ("admin", "patch", "Sales LATAM", {"lead": ("user", "agent4")}, 200),
    ("root", "patch", "Head Office", {"lead": ("user", "root")}, 200),
    # Creation.
    ("lead", "post", None, {"name": "Rogue root", "parent": None}, 403),
    ("lead", "post", None, {"name": "Under head", "parent": ("team", "Head Office")}, 403),
    ("lead", "post", None, {"name": "Mine", "parent": ("team", "Sales UK"), "lead": ("user", "lead")}, 403),
    ("lead", "post", None, {"name": "UK North", "parent": ("team", "Sales UK"), "lead": ("user", "agent")}, 201),
    ("admin", "post", None, {"name": "APAC", "parent": None}, 201),
]


def test_team_tree_every_field_stays_inside_the_subtree(cast):
    failures = []
    for actor, method, team, spec, expected in TEAM_TABLE:
        payload = {k: _value(cast, v) for k, v in spec.items()}
        url = f"/api/platform/teams/{cast['teams'][team].pk}" if method == "patch" else "/api/platform/teams"
        response = _run(method, cast["people"][actor], url, payload)
        if response.status_code != expected or (expected == 403
                                                and response.json()["code"] != "privilege_escalation"):
            failures.append((actor, method, team, spec, response.status_code, response.content[:120]))
    assert not failures, failures
    head = Team.objects.get(name="Head Office")
    assert head.lead_id is None and Team.objects.get(name="Sales LATAM").parent_id == head.pk


def test_a_refused_lead_change_does_not_leave_the_move_behind(cast):
    """`{"parent", "lead"}` in one PATCH: the lead is refused, so the move is rolled back too."""
    lead = cast["people"]["lead"]
    uk, eu = cast["teams"]["Sales UK"], cast["teams"]["Sales EU"]
    sub = Team.objects.create(name="tmp", parent=uk, path=uk.path + "99999999.")
    response = _client(lead).patch(f"/api/platform/teams/{sub.pk}", {"parent": eu.pk, "lead": lead.pk},
                                   format="json")
    assert response.status_code == 403
    assert Team.objects.get(pk=sub.pk).parent_id == uk.pk


def test_issue_repro_demo_admin_cannot_take_over_a_roleless_superuser(cast):
    admin, root = cast["people"]["admin"], cast["people"]["root"]
    client = _client(admin)
    response = client.patch(f"/api/platform/users/{root.pk}", {"password": NEW_PASSWORD}, format="json")
    assert response.status_code == 403 and response.json()["code"] == "privilege_escalation"
    response = client.patch(f"/api/platform/users/{root.pk}", {"role": cast["roles"]["agent"].pk}, format="json")
    assert response.status_code == 403
    login = APIClient().post("/api/auth/token", {"email": "root@demo.test", "password": NEW_PASSWORD}, format="json")
    assert login.status_code == 401


def test_password_reset_is_audited_without_secret_and_ends_tokens_and_sessions(cast, client):
    admin, agent = cast["people"]["admin"], cast["people"]["agent"]
    # The agent holds an API token and a workspace session.
    token = APIClient().post("/api/auth/token", {"email": agent.email, "password": "demo-password"},
                             format="json").json()["token"]
    assert client.post("/login/", {"username": agent.email, "password": "demo-password"}).status_code == 302
    assert client.get("/customers/").status_code == 200
    hash_before = User.objects.get(pk=agent.pk).password

    response = _client(admin).patch(f"/api/platform/users/{agent.pk}", {"password": NEW_PASSWORD}, format="json")
    assert response.status_code == 200

    entry = AuditLog.objects.get(action="user.password_reset", object_id=str(agent.pk))
    assert entry.actor_id == admin.pk
    stored = repr(entry.before) + repr(entry.after)
    hash_after = User.objects.get(pk=agent.pk).password
    for secret in (NEW_PASSWORD, hash_before, hash_after, hash_after.split("$")[-1]):
        assert secret not in stored
    for entry in AuditLog.objects.filter(object_id=str(agent.pk)):
        assert NEW_PASSWORD not in repr(entry.after) and hash_after not in repr(entry.after)

    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert bearer.get("/api/crm/customers").status_code == 401
    assert agent.api_tokens.count() == 0
    response = client.get("/customers/")
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_deactivation_ends_tokens_and_sessions(cast, client):
    admin, agent = cast["people"]["admin"], cast["people"]["agent"]
    token = APIClient().post("/api/auth/token", {"email": agent.email, "password": "demo-password"},
                             format="json").json()["token"]
    client.post("/login/", {"username": agent.email, "password": "demo-password"})
    assert client.get("/customers/").status_code == 200
    response = _client(admin).patch(f"/api/platform/users/{agent.pk}", {"is_active": False}, format="json")
    assert response.status_code == 200
    assert agent.api_tokens.count() == 0
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert bearer.get("/api/crm/customers").status_code == 401
    assert client.get("/customers/").status_code == 302
    assert AuditLog.objects.filter(action="api_tokens.revoked", object_id=str(agent.pk)).exists()


def test_a_role_held_outside_the_subtree_cannot_be_changed_by_a_team_admin(cast):
    """Editing a role edits every holder: the agent role is held in Sales LATAM, outside the team admin's tree."""
    lead = cast["people"]["lead"]
    Role.objects.filter(pk=lead.role_id).update(
        permissions=sorted(set(lead.role.permissions) | {"administration.manage_roles"}))
    agent_role = cast["roles"]["agent"]
    response = _run("patch", lead, f"/api/platform/roles/{agent_role.pk}", {"customer_view_scope": "team"})
    assert response.status_code == 403 and response.json()["code"] == "privilege_escalation"
    local = Role.objects.create(name="uk only", permissions=["customers.view"])
    User.objects.create_user("ukonly@demo.test", "ukonly-password-Xy9", role=local, team=cast["teams"]["Sales UK"])
    response = _run("patch", lead, f"/api/platform/roles/{local.pk}", {"customer_view_scope": "team"})
    assert response.status_code == 200, response.content
