"""Concurrency over HTTP with committed data: round-robin calls racing, note edits racing."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from django.db import connection

from crm.models import AssignmentCursor, NoteRevision
from crm.tests.factories import customers_across_the_tree
from customers.models import Customer
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo(transactional_db):
    """The demo's staff and two customers of each of the demo's owners (the manager sees 8), committed so that
    the threads see them (crm.tests.factories.customers_across_the_tree)."""
    staff = demo_staff()
    customers_across_the_tree(staff, per_owner=2)
    return staff


def run_together(*calls):
    barrier = threading.Barrier(len(calls))
    results = [None] * len(calls)

    def worker(i, call):
        try:
            barrier.wait()
            results[i] = call()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return results


def test_concurrent_bulk_assignments_keep_one_rotation(client_for, demo):
    agents = [demo["agent"].pk, demo["agent2"].pk, demo["agent3"].pk]
    pool = list(Customer.objects.visible_to(demo["manager"]).order_by("pk").values_list("pk", flat=True))[:8]
    assert len(pool) == 8

    def call(ids):
        return lambda: client_for("manager").post("/api/crm/customers/bulk-assign",
                                                  {"customer_ids": ids, "agent_ids": agents}, format="json")

    responses = run_together(call(pool[:4]), call(pool[4:]))
    assert [r.status_code for r in responses] == [200, 200]
    # Serialized on the assigner's cursor: 8 customers over 3 agents in one rotation → 3, 3, 2.
    counts = Counter(Customer.objects.filter(pk__in=pool).values_list("assigned_to", flat=True))
    assert sorted(counts.values()) == [2, 3, 3] and set(counts) == set(agents)
    assert AssignmentCursor.objects.get(assigner=demo["manager"]).last_agent_id == agents[1]  # a,b,c,a,b,c,a,b


def test_concurrent_note_edits_lose_no_text(client_for, demo):
    customer = Customer.objects.filter(assigned_to=demo["agent"]).order_by("pk").first()
    note = client_for("agent").post(f"/api/crm/customers/{customer.pk}/notes", {"body": "original"},
                                    format="json").json()

    def edit(text):
        return lambda: client_for("agent").patch(f"/api/crm/notes/{note['id']}", {"body": text}, format="json")

    responses = run_together(edit("version A"), edit("version B"))
    assert [r.status_code for r in responses] == [200, 200]
    history = client_for("agent").get(f"/api/crm/notes/{note['id']}/history").json()["revisions"]
    bodies = [r["body"] for r in history]
    # Row lock: one edit replaced "original", the other replaced the first edit's text; all three kept.
    assert bodies[0] == "original" and sorted(bodies[1:]) == ["version A", "version B"]
    assert NoteRevision.objects.filter(note_id=note["id"]).count() == 2
