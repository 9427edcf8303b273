"""The workspace API: pipelines, round-robin, keyset activity, notes with history, tasks."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from crm.models import Note, NoteRevision, Task
from crm.tests.factories import customers_across_the_tree
from customers.models import Activity, Customer
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff and three customers of each of the demo's owners (the manager sees 12)
    (crm.tests.factories.customers_across_the_tree)."""
    staff = demo_staff()
    customers_across_the_tree(staff, per_owner=3)
    return staff


def own_customer(demo):
    return Customer.objects.filter(assigned_to=demo["agent"]).order_by("pk").first()


def test_transitions_and_permissions(client_for, demo):
    customer = own_customer(demo)
    agent = client_for("agent")
    url = f"/api/crm/customers/{customer.pk}/transitions"
    response = agent.post(url, {"pipeline": "sales", "to": "contacted"}, format="json")
    assert response.status_code == 200 and response.json()["sales_status"] == "contacted"
    response = agent.post(url, {"pipeline": "sales", "to": "new"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    assert agent.post(url, {"pipeline": "kyc", "to": "pending"}, format="json").status_code == 403
    assert client_for("compliance").post(url, {"pipeline": "kyc", "to": "pending"}, format="json").status_code == 200
    latam = Customer.objects.filter(team__name="Sales LATAM").first()
    assert agent.post(f"/api/crm/customers/{latam.pk}/transitions", {"pipeline": "sales", "to": "contacted"},
                      format="json").status_code == 404
    # contacted, then compliance's kyc move (the refused moves recorded nothing)
    assert list(Activity.objects.filter(customer=customer, verb="status.changed").order_by("id")
                .values_list("summary", flat=True))[-2:] == ["sales: new → contacted", "kyc: not_submitted → pending"]


def test_round_robin_is_fair_and_continues(client_for, demo):
    manager = client_for("manager")
    agents = [demo["agent"].pk, demo["agent2"].pk, demo["agent3"].pk]
    pool = list(Customer.objects.visible_to(demo["manager"]).order_by("pk").values_list("pk", flat=True))
    first = manager.post("/api/crm/customers/bulk-assign", {"customer_ids": pool[:7], "agent_ids": agents},
                         format="json").json()["assigned"]
    assert sorted(first.values()) == [2, 2, 3] and first[str(agents[0])] == 3
    second = manager.post("/api/crm/customers/bulk-assign", {"customer_ids": pool[7:9], "agent_ids": agents},
                          format="json").json()["assigned"]
    # 7 went a,b,c,a,b,c,a: the rotation continues at b.
    assert second == {str(agents[0]): 0, str(agents[1]): 1, str(agents[2]): 1}
    latam_agent = demo["agent4"].pk
    response = manager.post("/api/crm/customers/bulk-assign", {"customer_ids": pool[:1], "agent_ids": [latam_agent]},
                            format="json")
    assert response.status_code == 400
    assert client_for("agent").post("/api/crm/customers/bulk-assign", {"customer_ids": pool[:1],
                                    "agent_ids": agents[:1]}, format="json").status_code == 403


def test_keyset_pagination_with_ties_in_time(client_for, demo):
    customer = own_customer(demo)
    moment = timezone.now()
    Activity.objects.bulk_create([Activity(customer=customer, verb="test.tie", summary=str(i), created_at=moment)
                                  for i in range(25)])
    client = client_for("agent")
    seen, url = [], f"/api/crm/customers/{customer.pk}/activity?page_size=7"
    while url:
        body = client.get(url).json()
        seen += [a["id"] for a in body["results"]]
        url = body["next"]
    all_ids = list(Activity.objects.filter(customer=customer).order_by("-created_at", "-id")
                   .values_list("id", flat=True))
    assert seen == all_ids and len(set(seen)) == len(seen)
    assert client.get("/api/crm/activity?cursor=garbage").json()["code"] == "invalid_cursor"


def test_team_feed_is_scoped(client_for, demo):
    from teams.models import Team

    uk = Team.objects.get(name="Sales UK")
    body = client_for("manager").get(f"/api/crm/activity?team={uk.pk}&page_size=200").json()
    ids = {a["customer"] for a in body["results"]}
    assert ids and ids <= set(Customer.objects.filter(team=uk).values_list("pk", flat=True))
    latam = Customer.objects.filter(team__name="Sales LATAM").values_list("pk", flat=True)
    all_ids = {a["customer"] for a in client_for("manager").get("/api/crm/activity?page_size=200").json()["results"]}
    assert not all_ids & set(latam)


def test_notes_keep_history_and_are_never_deleted(client_for, demo):
    customer = own_customer(demo)
    agent = client_for("agent")
    note = agent.post(f"/api/crm/customers/{customer.pk}/notes", {"body": "first text"}, format="json").json()
    agent.patch(f"/api/crm/notes/{note['id']}", {"body": "second text"}, format="json")
    client_for("manager").patch(f"/api/crm/notes/{note['id']}", {"body": "third text"}, format="json")
    history = agent.get(f"/api/crm/notes/{note['id']}/history").json()["revisions"]
    assert [r["body"] for r in history] == ["first text", "second text", "third text"]
    assert [r["author"] for r in history] == ["agent@demo.test", "agent@demo.test", "manager@demo.test"]
    response = agent.delete(f"/api/crm/notes/{note['id']}")
    assert response.status_code == 405 and Note.objects.filter(pk=note["id"]).exists()


def test_the_database_refuses_to_rewrite_revisions(client_for, demo):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    from django.db import InternalError, ProgrammingError, transaction

    customer = own_customer(demo)
    agent = client_for("agent")
    note = agent.post(f"/api/crm/customers/{customer.pk}/notes", {"body": "a"}, format="json").json()
    agent.patch(f"/api/crm/notes/{note['id']}", {"body": "b"}, format="json")
    revision = NoteRevision.objects.get(note_id=note["id"])
    for sql in ("UPDATE crm_noterevision SET body = 'x' WHERE id = %s", "DELETE FROM crm_noterevision WHERE id = %s",
                "DELETE FROM crm_note WHERE id = %s"):
        with pytest.raises((InternalError, ProgrammingError)), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, [revision.pk if "revision" in sql else note["id"]])


def test_tasks_overdue_views_and_flagging(client_for, demo):
    from crm.services import tasks_flag_overdue

    customer = own_customer(demo)
    agent = client_for("agent")
    past = (timezone.now() - timedelta(hours=2)).isoformat()
    future = (timezone.now() + timedelta(days=2)).isoformat()
    late = agent.post("/api/crm/tasks", {"customer_id": customer.pk, "title": "Call back", "due_at": past},
                      format="json").json()
    agent.post("/api/crm/tasks", {"customer_id": customer.pk, "title": "Later", "due_at": future}, format="json")
    overdue = agent.get("/api/crm/tasks?overdue=true&scope=own").json()["results"]
    assert [t["id"] for t in overdue] == [late["id"]] and overdue[0]["overdue"] is True
    team = client_for("manager").get("/api/crm/tasks?overdue=true&scope=team").json()["results"]
    assert late["id"] in [t["id"] for t in team]
    assert tasks_flag_overdue() == 1 and tasks_flag_overdue() == 0
    assert Activity.objects.filter(verb="task.overdue", customer=customer).count() == 1
    done = agent.post(f"/api/crm/tasks/{late['id']}/complete").json()
    assert done["status"] == "done" and Task.objects.get(pk=late["id"]).completed_at


def test_presence_expires(client_for, demo, settings):
    from django.core.cache import cache

    from customers.presence import presence_online, presence_touch

    customer = own_customer(demo)
    presence_touch(customer_id=customer.pk)
    assert client_for("agent").get(f"/api/crm/customers/{customer.pk}").json()["online"] is True
    cache.touch(f"presence:customer:{customer.pk}", 1)
    import time

    time.sleep(1.2)
    assert presence_online([customer.pk]) == set()
