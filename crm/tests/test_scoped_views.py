"""Every API endpoint and workspace page of customer-owned data takes its queryset through the one mechanism
(customers.scoping.ScopedViewMixin over CustomerOwnedQuerySet): out-of-scope rows never appear (issue #11)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import get_resolver
from django.utils import timezone
from rest_framework.test import APIClient

from comms.models import Message
from crm.models import Note, Task
from crm.tests.factories import customers_across_the_tree
from customers.models import Activity, Customer, CustomerOwnedQuerySet, CustomerQuerySet
from customers.scoping import ScopedViewMixin
from ledger.models import Transaction
from ledger.services import transaction_create
from teams.constants import PERMISSION_CODES
from teams.models import Role, Team, User
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff and three customers of each of the demo's owners (the manager sees 12)
    (crm.tests.factories.customers_across_the_tree)."""
    staff = demo_staff()
    customers_across_the_tree(staff, per_owner=3)
    return staff


def _views(patterns=None):
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if hasattr(entry, "url_patterns"):
            yield from _views(entry.url_patterns)
            continue
        callback = entry.callback
        cls = getattr(callback, "cls", None) or getattr(callback, "view_class", None)
        if cls is not None:
            yield entry, cls


def _declared_model(cls):
    queryset = getattr(cls, "queryset", None)
    if queryset is not None:
        return queryset.model
    if getattr(cls, "model", None) is not None:
        return cls.model
    serializer = getattr(cls, "serializer_class", None)
    meta = getattr(serializer, "Meta", None)
    return getattr(meta, "model", None)


def _customer_realm(cls) -> bool:
    """The client area's views: their scope is the signed-in customer's own data, not a staff member's."""
    from customers.auth import CustomerSessionAuthentication

    return any(issubclass(a, CustomerSessionAuthentication) for a in getattr(cls, "authentication_classes", ()))


def test_every_staff_view_of_customer_data_uses_the_scoped_base():
    """A view declaring customer data (queryset, model or output serializer over a customer-owned model) derives
    from ScopedViewMixin."""
    offenders = []
    for entry, cls in _views():
        model = _declared_model(cls)
        if model is None or _customer_realm(cls):
            continue
        if isinstance(model._default_manager.all(), CustomerOwnedQuerySet | CustomerQuerySet) and not issubclass(
                cls, ScopedViewMixin):
            offenders.append(f"{entry.pattern}: {cls.__module__}.{cls.__name__}")
    assert not offenders, offenders


@pytest.fixture
def world(demo):
    """A staff member holding every permission with team scope over "Sales UK", a customer there (in scope) and one
    in "Sales LATAM" (out of scope), each with an activity entry, a note, a task, a pending transaction and a
    message. The out-of-scope task is assigned to someone else (an assignee sees their own tasks)."""
    uk = Team.objects.get(name="Sales UK")
    role = Role.objects.create(name="scope probe", permissions=sorted(PERMISSION_CODES), customer_view_scope="team",
                               customer_edit_scope="team", pii_email="masked", pii_phone="masked",
                               approval_level="head")
    user = User.objects.create_user("probe@demo.test", "demo-password", role=role, team=uk)
    inside = Customer.objects.filter(team=uk).order_by("pk").first()
    outside = Customer.objects.filter(team__name="Sales LATAM").order_by("pk").first()
    assert inside and outside
    rows = {}
    for tag, customer in (("in", inside), ("out", outside)):
        activity = Activity.objects.create(customer=customer, verb="probe", summary=f"scope-probe-{tag}")
        note = Note.objects.create(customer=customer, body=f"scope-probe-{tag}", author=demo["admin"])
        task = Task.objects.create(customer=customer, title=f"scope-probe-{tag}", due_at=timezone.now() - timedelta(1),
                                   assignee=demo["agent"] if tag == "in" else demo["agent4"])
        account = customer.accounts.order_by("login").first()
        transaction_create(by=demo["admin"], type="deposit", amount="1000.00", currency=account.currency,
                           account_login=account.login)
        tx, _ = transaction_create(by=demo["admin"], type="withdrawal", amount="50.00", currency=account.currency,
                                   account_login=account.login, comment=f"scope-probe-{tag}")
        assert tx.status == "pending_approval"
        message = Message.objects.create(customer=customer, channel="email", template_name="probe", locale="en",
                                         recipient="x@example.com", subject=f"scope-probe-{tag}", body="b")
        rows[tag] = {"customer": customer, "activity": activity, "note": note, "task": task, "tx": tx,
                     "account": account, "message": message}
    api = APIClient()
    api.force_authenticate(user)
    web = Client()
    web.force_login(user)
    return {"user": user, "api": api, "web": web, "uk": uk, **rows}


def test_api_lists_and_lookups_never_show_out_of_scope_rows(world):
    api, inside, outside = world["api"], world["in"], world["out"]
    feed = api.get("/api/crm/activity?page_size=200").json()["results"]
    ids = {a["id"] for a in feed}
    assert inside["activity"].pk in ids and outside["activity"].pk not in ids
    assert api.get(f"/api/crm/customers/{inside['customer'].pk}/activity").status_code == 200
    assert api.get(f"/api/crm/customers/{outside['customer'].pk}/activity").status_code == 404
    assert api.get(f"/api/crm/notes/{inside['note'].pk}").status_code == 200
    assert api.get(f"/api/crm/notes/{outside['note'].pk}").status_code == 404
    assert api.get(f"/api/crm/notes/{outside['note'].pk}/history").status_code == 404
    tasks = {t["id"] for t in api.get("/api/crm/tasks?scope=team").json()["results"]}
    assert inside["task"].pk in tasks and outside["task"].pk not in tasks
    assert api.post(f"/api/crm/tasks/{outside['task'].pk}/complete").status_code == 404
    listed = api.get(f"/api/backoffice/transactions?customer={inside['customer'].pk}").json()["results"]
    assert inside["tx"].pk in {t["id"] for t in listed}
    assert api.get(f"/api/backoffice/transactions?customer={outside['customer'].pk}").json()["results"] == []
    assert api.get(f"/api/backoffice/transactions/{outside['tx'].pk}").status_code == 404
    assert api.post(f"/api/backoffice/transactions/{outside['tx'].pk}/approve").status_code == 404
    assert api.get(f"/api/crm/accounts/{outside['account'].login}").status_code == 404
    assert api.get(f"/api/platform/customers/{outside['customer'].pk}/communications").status_code == 404
    messages = api.get(f"/api/platform/customers/{inside['customer'].pk}/communications").json()
    assert inside["message"].pk in {m["id"] for m in messages}


def test_pages_never_show_out_of_scope_rows(world):
    web, inside, outside = world["web"], world["in"], world["out"]
    feed = web.get("/activity/")
    assert feed.status_code == 200
    shown = {a.pk for a in feed.context["activities"]}
    assert outside["activity"].pk not in shown
    html = feed.content.decode()
    assert "scope-probe-out" not in html
    assert web.get(f"/customers/{outside['customer'].pk}/").status_code == 404
    assert web.get(f"/customers/{outside['customer'].pk}/activity").status_code == 404
    detail = web.get(f"/customers/{inside['customer'].pk}/")
    assert inside["message"] in list(detail.context["communications"])
    assert inside["tx"] in list(detail.context["transactions"])
    queue = web.get("/approvals/")
    pending = {tx.pk for tx in queue.context["pending"]}
    assert inside["tx"].pk in pending and outside["tx"].pk not in pending
    tasks = web.get("/tasks/?scope=team")
    listed = {t.pk for t in tasks.context["tasks"]}
    assert inside["task"].pk in listed and outside["task"].pk not in listed
    assert web.post(f"/approvals/{outside['tx'].pk}/approve").status_code == 404
    assert web.post(f"/transactions/{outside['tx'].pk}/cancel").status_code == 404
    assert Transaction.objects.get(pk=outside["tx"].pk).status == "pending_approval"
    dashboard = web.get("/")
    assert dashboard.context["overdue_tasks"] == Task.objects.visible_to(world["user"]).overdue().count()


def test_api_activity_feed_refuses_a_team_outside_the_callers_scope(world, demo):
    """The page checked `?team=` against the viewer's teams; the API accepted any team id (issue #11)."""
    api = world["api"]
    latam = Team.objects.get(name="Sales LATAM")
    response = api.get(f"/api/crm/activity?team={latam.pk}")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    unknown = api.get("/api/crm/activity?team=999999")
    assert unknown.status_code == 404 and unknown.json() == response.json()  # no difference to probe
    inside = api.get(f"/api/crm/activity?team={world['uk'].pk}&page_size=200")
    assert inside.status_code == 200
    assert world["in"]["activity"].pk in {a["id"] for a in inside.json()["results"]}
    # A role that sees every customer may pick any team.
    admin = APIClient()
    admin.force_authenticate(demo["admin"])
    assert admin.get(f"/api/crm/activity?team={latam.pk}").status_code == 200
    # The page answers the same question the same way: nothing from a team outside the viewer's.
    page = world["web"].get(f"/activity/?team={latam.pk}")
    assert page.status_code == 200 and not page.context["activities"]
