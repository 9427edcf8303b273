"""Authorization matrix: each demo role × an object in scope and one outside it → the expected status.

Out of scope is 404 (never reveal existence); in scope without the permission is 403."""

from __future__ import annotations

import pytest

from customers.models import Customer

pytestmark = pytest.mark.django_db


@pytest.fixture
def objects(demo):
    """One customer inside each persona's scope and one outside the agent's and manager's."""
    own = Customer.objects.filter(assigned_to=demo["agent"]).order_by("pk").first()
    latam = Customer.objects.filter(team__name="Sales LATAM").order_by("pk").first()
    uk_other = Customer.objects.filter(assigned_to=demo["agent2"]).order_by("pk").first()
    return {"own": own, "latam": latam, "uk_other": uk_other}


# (persona, operation, target, expected status)
MATRIX = [
    # customer detail
    ("agent", "get", "own", 200),
    ("agent", "get", "uk_other", 404),
    ("agent", "get", "latam", 404),
    ("manager", "get", "own", 200),
    ("manager", "get", "uk_other", 200),
    ("manager", "get", "latam", 404),
    ("compliance", "get", "latam", 200),
    ("admin", "get", "latam", 200),
    # customer edit: agent edits own; compliance sees all but edits none
    ("agent", "patch", "own", 200),
    ("agent", "patch", "latam", 404),
    ("manager", "patch", "uk_other", 200),
    ("manager", "patch", "latam", 404),
    ("compliance", "patch", "own", 403),
    ("admin", "patch", "latam", 200),
    # export: needs reports.export_customers and can_export_pii
    ("agent", "export", None, 403),
    ("manager", "export", None, 403),
    ("compliance", "export", None, 403),
    ("admin", "export", None, 200),
    # platform administration
    ("agent", "roles", None, 403),
    ("manager", "roles", None, 403),
    ("admin", "roles", None, 200),
    ("agent", "users", None, 403),
    ("manager", "users", None, 200),
    ("admin", "users", None, 200),
    ("agent", "teams", None, 403),
    ("manager", "teams", None, 200),
    ("agent", "audit", None, 403),
    ("compliance", "audit", None, 200),
    ("agent", "permissions", None, 200),
]


@pytest.mark.parametrize("persona,op,target,expected", MATRIX)
def test_customer_and_admin_access(client_for, objects, persona, op, target, expected):
    client = client_for(persona)
    customer = objects[target] if target else None
    if op == "get":
        response = client.get(f"/api/crm/customers/{customer.pk}")
    elif op == "patch":
        response = client.patch(f"/api/crm/customers/{customer.pk}", {"first_name": "Edited"}, format="json")
    elif op == "export":
        response = client.get("/api/crm/customers/export")
    elif op == "roles":
        response = client.get("/api/platform/roles")
    elif op == "users":
        response = client.get("/api/platform/users")
    elif op == "teams":
        response = client.get("/api/platform/teams")
    elif op == "audit":
        response = client.get("/api/platform/audit-log")
    else:
        response = client.get("/api/platform/permissions")
    assert response.status_code == expected, response.content[:300]
    if expected >= 400:
        body = response.json()
        assert set(body) >= {"code", "detail"}
        if expected == 404:
            assert body["code"] == "not_found"


def test_list_is_scoped(client_for, demo):
    def ids(persona):
        return {c["id"] for c in client_for(persona).get("/api/crm/customers?page_size=200").json()["results"]}

    assert ids("agent") == set(Customer.objects.filter(assigned_to=demo["agent"]).values_list("pk", flat=True))
    manager_ids = ids("manager")
    assert manager_ids == set(
        Customer.objects.filter(team__name__in=["Sales EU", "Sales UK"]).values_list("pk", flat=True)
    )
    assert ids("admin") == set(Customer.objects.values_list("pk", flat=True))


def test_guardian_grant_shares_one_customer(client_for, demo, objects):
    from guardian.shortcuts import assign_perm

    latam = objects["latam"]
    client = client_for("agent")
    assert client.get(f"/api/crm/customers/{latam.pk}").status_code == 404
    assign_perm("view_customer", demo["agent"], latam)
    assert client.get(f"/api/crm/customers/{latam.pk}").status_code == 200
    # A view grant does not open editing.
    assert client.patch(f"/api/crm/customers/{latam.pk}", {"first_name": "X"}, format="json").status_code == 404


def test_unauthenticated_is_401_with_error_body(api, demo):
    response = api.get("/api/crm/customers")
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_customer_list_query_count_is_constant(client_for, demo, django_assert_max_num_queries):
    client = client_for("admin")
    with django_assert_max_num_queries(12):
        client.get("/api/crm/customers?page_size=10")
    with django_assert_max_num_queries(12):
        client.get("/api/crm/customers?page_size=200")
    with django_assert_max_num_queries(12):
        client.get("/api/platform/users")
    with django_assert_max_num_queries(8):
        client.get("/api/platform/roles")
