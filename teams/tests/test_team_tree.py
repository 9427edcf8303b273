"""The team tree: materialized paths, one-statement subtree moves, cycles refused."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from brokercrm.actors import SYSTEM
from teams.models import AuditLog, Team
from teams.services import TeamCycle, team_create, team_move
from teams.tests.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tree():
    root = team_create(by=SYSTEM, name="Root")
    a = team_create(by=SYSTEM, name="A", parent=root)
    a1 = team_create(by=SYSTEM, name="A1", parent=a)
    a11 = team_create(by=SYSTEM, name="A11", parent=a1)
    b = team_create(by=SYSTEM, name="B", parent=root)
    return {"root": root, "a": a, "a1": a1, "a11": a11, "b": b}


def test_paths_are_materialized(tree):
    assert tree["a11"].path.startswith(tree["a1"].path) and tree["a1"].path.startswith(tree["a"].path)
    assert {t.name for t in Team.objects.subtree(tree["a"].path)} == {"A", "A1", "A11"}


def test_move_rewrites_subtree_in_one_statement(tree):
    with CaptureQueriesContext(connection) as ctx:
        team_move(by=SYSTEM, team=tree["a1"], new_parent=tree["b"])
    updates = [q["sql"] for q in ctx.captured_queries if q["sql"].startswith("UPDATE") and "path" in q["sql"]]
    assert len(updates) == 1
    for name in ("A1", "A11"):
        assert Team.objects.get(name=name).path.startswith(Team.objects.get(name="B").path)
    assert {t.name for t in Team.objects.subtree(Team.objects.get(name="B").path)} == {"B", "A1", "A11"}
    assert AuditLog.objects.filter(action="team.moved").count() == 1


@pytest.mark.parametrize("onto", ["a", "a1", "a11"])
def test_cycles_are_refused(tree, onto):
    with pytest.raises(TeamCycle):
        team_move(by=SYSTEM, team=tree["a"], new_parent=tree[onto])
    assert Team.objects.get(name="A").parent == tree["root"]


def test_move_over_api_and_cycle_error_body(api, tree):
    api.force_authenticate(UserFactory(role=RoleFactory(admin=True), team=tree["root"]))
    a, a1, b = tree["a"], tree["a1"], tree["b"]
    response = api.patch(f"/api/platform/teams/{a.pk}", {"parent": a1.pk}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "team_cycle"
    response = api.patch(f"/api/platform/teams/{a1.pk}", {"parent": b.pk}, format="json")
    assert response.status_code == 200
    assert response.json()["path"].startswith(b.path)


def test_subtree_query_uses_prefix_filter(tree):
    sql = str(Team.objects.subtree(tree["a"].path).query)
    assert "LIKE" in sql
