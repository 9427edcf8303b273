"""Issue #10: every workspace page checks its permission. Walks every named route of the workspace's URL modules
for each demo role, a user with no role, a user without the dashboard's permission, and an anonymous visitor.

A new workspace route fails `test_every_workspace_route_is_in_the_table` until it is added to ROUTES."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from customers.models import Customer, PromoCode
from teams.models import Role, Team, User

pytestmark = pytest.mark.django_db

WORKSPACE_URLCONFS = ("crm.urls", "ledger.urls", "imports.urls", "comms.urls", "teams.urls", "customers.urls")
# Not workspace pages: the customers' own realm (client area, the sandbox cashier) and the login/logout pair.
OTHER_REALMS = {"client-home", "client-login", "client-logout", "client-documents-upload", "sandbox-cashier", "login",
                "logout", "login-verify"}

# route name → (permission it needs, GET-able page?, kwargs). Routes that only take POST answer GET with 405 once
# the permission check has passed. `None` permission: any signed-in staff member.
ROUTES = {
    "dashboard": ("reports.view_dashboard", True, lambda o: {}),
    "customer-list": ("customers.view", True, lambda o: {}),
    "customer-bulk-assign": ("customers.bulk_assign", False, lambda o: {}),
    "customer-detail": ("customers.view", True, lambda o: {"pk": o["customer"].pk}),
    "customer-activity": ("customers.view", True, lambda o: {"pk": o["customer"].pk}),
    "customer-action": ("customers.view", False, lambda o: {"pk": o["customer"].pk, "verb": "note"}),
    "customer-export": ("reports.export_customers", True, lambda o: {}),
    "customer-transaction": ("finance.view_transactions", False, lambda o: {"pk": o["customer"].pk}),
    "customer-profile": ("customers.edit", False, lambda o: {"pk": o["customer"].pk}),
    "customer-assign": ("customers.assign", False, lambda o: {"pk": o["customer"].pk}),
    "customer-send": ("communications.view_templates", False, lambda o: {"pk": o["customer"].pk}),
    "task-list": ("pipelines.manage_tasks", True, lambda o: {}),
    "activity-feed": ("customers.view", True, lambda o: {}),
    "notifications-read": (None, False, lambda o: {}),
    "approvals": ("finance.approve_transactions", True, lambda o: {}),
    "approval-action": ("finance.approve_transactions", False, lambda o: {"pk": 1, "verb": "approve"}),
    "transaction-action": ("finance.view_transactions", False, lambda o: {"pk": 1, "verb": "cancel"}),
    "import-list": ("customers.import", True, lambda o: {}),
    "import-detail": ("customers.import", True, lambda o: {"job_id": o["job_id"]}),
    "template-list": ("communications.view_templates", True, lambda o: {}),
    "template-edit": ("communications.view_templates", True,
                      lambda o: {"kind": "email", "pk": o["template"].pk, "locale": "en"}),
    "workflow-toggle": ("platform.manage_workflows", False, lambda o: {"pk": 1}),
    "kyc-queue": ("pipelines.change_kyc_status", True, lambda o: {}),
    "kyc-upload": ("customers.view", False, lambda o: {"pk": o["customer"].pk}),
    "kyc-document-action": ("pipelines.change_kyc_status", False, lambda o: {"pk": 1, "verb": "approve"}),
    "kyc-document-file-page": ("pipelines.change_kyc_status", True, lambda o: {"pk": 1}),
    "account-2fa": (None, True, lambda o: {}),
    "account-profile": (None, True, lambda o: {}),
    "template-create": ("communications.manage_templates", False, lambda o: {}),
    "template-locale-add": ("communications.manage_templates", False,
                            lambda o: {"kind": "email", "pk": o["template"].pk}),
    "template-preview": ("communications.view_templates", False,
                         lambda o: {"kind": "email", "pk": o["template"].pk, "locale": "en"}),
    "workflow-new": ("platform.manage_workflows", True, lambda o: {}),
    "workflow-edit": ("platform.manage_workflows", True, lambda o: {"pk": o["workflow"].pk}),
    "workflow-run": ("platform.manage_workflows", False, lambda o: {"pk": o["workflow"].pk}),
    # Administration (issue #14). "administration.*": any administration section's permission.
    "administration": ("administration.*", True, lambda o: {}),
    "admin-teams": ("administration.view_teams", True, lambda o: {}),
    "admin-users": ("administration.view_teams", True, lambda o: {}),
    "admin-user": ("administration.manage_users", True, lambda o: {"pk": o["customer"].assigned_to_id}),
    "admin-roles": ("administration.manage_roles", True, lambda o: {}),
    "admin-role": ("administration.manage_roles", True, lambda o: {"pk": o["role"].pk}),
    "admin-audit": ("administration.view_audit_log", True, lambda o: {}),
    "admin-promo-codes": ("platform.manage_promo_codes", True, lambda o: {}),
    "admin-promo-code": ("platform.manage_promo_codes", True, lambda o: {"pk": o["promo"].pk}),
    "admin-fraud": ("platform.manage_fraud_rules", True, lambda o: {}),
    "admin-payment-routes": ("finance.manage_payment_routes", True, lambda o: {}),
    "admin-fx-rates": ("finance.manage_payment_routes", True, lambda o: {}),
    "admin-approval-rules": ("finance.manage_payment_routes", True, lambda o: {}),
}
# A page whose object does not exist for anyone answers 404 to those allowed (after the permission check).
NOT_FOUND_FOR_ALLOWED = {"import-detail", "kyc-document-file-page"}


def _export_gate(user) -> bool:
    from customers.exports import export_allowed

    return export_allowed(user)


# Routes behind a second gate after the permission (a role flag): refused with 403 when the gate is closed.
GATES = {"customer-export": _export_gate}


def _route_names(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _route_names(pattern.url_patterns)
        elif isinstance(pattern, URLPattern) and pattern.name:
            yield pattern.name


def test_every_workspace_route_is_in_the_table():
    from importlib import import_module

    names = set()
    for module in WORKSPACE_URLCONFS:
        names |= set(_route_names(import_module(module).urlpatterns))
    assert names - OTHER_REALMS == set(ROUTES), "add the new workspace route to ROUTES with its permission"
    mounted = {name for name in get_resolver().reverse_dict if isinstance(name, str)}
    assert set(ROUTES) <= mounted


@pytest.fixture
def people(demo):
    """The demo roles, a staff user with no role at all, and one who may see customers but not the dashboard."""
    uk = Team.objects.get(name="Sales UK")
    nobody = User.objects.create_user("nobody@demo.test", "nobody-password-Xy9", team=uk)
    viewer_role = Role.objects.create(name="viewer", permissions=["customers.view"], customer_view_scope="team")
    viewer = User.objects.create_user("viewer@demo.test", "viewer-password-Xy9", team=uk, role=viewer_role)
    return {**{k: demo[k] for k in ("admin", "compliance", "manager", "agent")}, "nobody": nobody,
            "viewer": viewer}


@pytest.fixture
def objects(demo):
    from comms.models import EmailTemplate, Workflow

    template = EmailTemplate.objects.order_by("pk").first()
    assert template is not None
    return {"customer": Customer.objects.filter(assigned_to=demo["agent"]).order_by("pk").first(),
            "job_id": uuid.uuid4(), "template": template, "role": Role.objects.order_by("pk").first(),
            "promo": PromoCode.objects.order_by("pk").first(), "workflow": Workflow.objects.order_by("pk").first()}


def _expected(user, name: str) -> tuple[int, str | None]:
    permission, page, _ = ROUTES[name]
    if user is None:
        return 302, "/login/"
    from brokercrm.context_processors import NAV, nav_allows

    holds = permission is None or nav_allows(user, permission)
    if name == "dashboard" and not holds:
        first = next((url for _l, url, code in NAV if nav_allows(user, code)), None)
        return (302, first) if first else (403, None)
    if not holds or (name in GATES and not GATES[name](user)):
        return 403, None
    if not page:
        return 405, None
    return (404 if name in NOT_FOUND_FOR_ALLOWED else 200), None


@pytest.mark.parametrize("persona", ["admin", "compliance", "manager", "agent", "nobody", "viewer", "anonymous"])
def test_every_workspace_page_checks_its_permission(people, objects, persona):
    user = None if persona == "anonymous" else User.objects.select_related("role").get(pk=people[persona].pk)
    client = Client()
    if user is not None:
        client.force_login(user)
    failures = []
    for name, (_permission, page, kwargs) in ROUTES.items():
        url = reverse(name, kwargs=kwargs(objects))
        response = client.get(url)
        status, location = _expected(user, name)
        if response.status_code != status or (location and not response["Location"].startswith(location)):
            failures.append((name, url, response.status_code, response.get("Location"), status, location))
        if not page and status == 403:
            # Actions refuse the POST too, before doing anything.
            posted = client.post(url, {"reason": "x", "customer_ids": [objects["customer"].pk], "body": "x"})
            if posted.status_code != 403:
                failures.append((name, url, "POST", posted.status_code))
    assert not failures, failures


def test_no_role_user_lands_on_403_and_dashboardless_user_on_their_first_page(people):
    client = Client()
    assert client.post("/login/", {"username": "nobody@demo.test", "password": "nobody-password-Xy9"},
                       follow=True).status_code == 403
    client = Client()
    response = client.post("/login/", {"username": "viewer@demo.test", "password": "viewer-password-Xy9"},
                           follow=True)
    assert response.status_code == 200 and response.redirect_chain[-1][0] == "/customers/"
