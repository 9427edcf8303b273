"""PII leak test: for masked and hidden viewers, fetch every GET endpoint and page that exists and fail if
the raw email or phone of any customer appears in any body.

The URL list is not hand-written: it is walked from the URL resolver, so endpoints added later are covered
too. Path parameters are filled with ids of objects inside and outside the viewer's scope.

Before the walk, staff-typed and rendered free text quoting customers' own emails and phones (E.164 and national
notation) is seeded on every door that shows free text (issue #10): notes and their revisions, a sent
communication's subject, body and provider error, a task title (and its overdue activity and notification), an
activity entry's summary and data, a transaction comment, a status-change reason."""

from __future__ import annotations

import contextlib
import uuid
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import get_resolver, reverse
from django.urls.exceptions import NoReverseMatch

from brokercrm.actors import SYSTEM
from customers.models import Customer
from ledger.models import TradingAccount
from teams.models import Role
from teams.pii import show_email

pytestmark = pytest.mark.django_db

# The account stream closes the database connection for the life of the stream (crm.api.stream_views), which
# inside this test's transaction would blind every later request; it carries balances only (see crm's SSE tests).
SKIP_NAMES = {"logout", "auth-token-revoke", "crm-account-stream"}
MAX_STREAM_BYTES = 200_000


def _named_routes():
    """(name, params) for every named URL pattern outside the admin site."""
    resolver = get_resolver()
    for name in list(resolver.reverse_dict):
        if not isinstance(name, str) or name in SKIP_NAMES:
            continue
        for possibility, _pattern, _defaults, _converters in resolver.reverse_dict.getlist(name):
            for _fmt, params in possibility:
                if "format" in params:
                    continue
                yield name, tuple(params)


def _candidates(param: str, ctx: dict) -> list:
    if param in ("login", "account_login"):
        return ctx["logins"]
    if param.endswith("uuid") or param in ("job_id", "token"):
        return [ctx["job_id"] or str(uuid.uuid4())]
    if param == "locale":
        return ["en"]
    if param in ("provider",):
        return ["bridgerpay", "praxis"]
    return ctx["ids"]


def _urls(ctx: dict) -> list[str]:
    urls = set()
    for name, params in _named_routes():
        if not params:
            with contextlib.suppress(NoReverseMatch):
                urls.add(reverse(name))
            continue
        for value in _candidates(params[0], ctx):
            kwargs = {p: value if i == 0 else _candidates(p, ctx)[0] for i, p in enumerate(params)}
            try:
                urls.add(reverse(name, kwargs=kwargs))
            except NoReverseMatch:
                continue
    return sorted(urls)


def _body(response) -> bytes:
    if getattr(response, "streaming", False):
        if "event-stream" in response.get("Content-Type", ""):
            return b""  # live streams are covered by the SSE tests
        out = b""
        for chunk in response.streaming_content:
            out += chunk if isinstance(chunk, bytes) else chunk.encode()
            if len(out) > MAX_STREAM_BYTES:
                break
        return out
    return response.content


@pytest.fixture
def hidden_viewer(demo):
    role = Role.objects.create(
        name="hidden-viewer", permissions=demo["manager"].role.permissions, customer_view_scope="all",
        customer_edit_scope="none", pii_email="hidden", pii_phone="hidden",
    )
    user = demo["manager"].__class__.objects.create_user("hidden@demo.test", "demo-password", role=role,
                                                         team=demo["manager"].team)
    return user


def _national(phone: str) -> str:
    import phonenumbers

    return phonenumbers.format_number(phonenumbers.parse(phone), phonenumbers.PhoneNumberFormat.NATIONAL)


def _seed_free_text(customers, viewer, admin) -> list[int]:
    """Contact details typed or rendered into every kind of free text about `customers`; returns the ids of the
    objects made for the first one (note, task, message, transaction) so the walk also fills path parameters
    with them."""
    from django.utils import timezone

    from comms.models import Message
    from crm.models import Task
    from crm.services import note_add, note_edit, tasks_flag_overdue
    from customers.services import activity_record, customer_transition
    from ledger.services import transaction_create

    ids = []
    for c in customers:
        contact = f"{c.email} {c.phone} ({_national(c.phone)})" if c.phone else c.email
        note = note_add(customer=c, body=f"Reach at {contact}", by=admin)
        note_edit(note=note, body=f"Reach at {contact}, confirmed", by=admin)
        message = Message.objects.create(customer=c, channel="email", template_name="pii-walk", locale="en",
                                         recipient=c.email, subject=f"For {contact}", body=f"Dear {contact}",
                                         body_html=f"<p>Dear {contact}</p>", status="failed",
                                         error=f"550 {contact} rejected")
        task = Task.objects.create(customer=c, title=f"Call {contact}", assignee=viewer, team=viewer.team,
                                   due_at=timezone.now() - timedelta(hours=1), created_by=admin)
        activity_record(customer=c, verb="test.free_text", by=admin, summary=f"Spoke to {contact}",
                        data={"reason": f"asked via {contact}"})
        account = c.accounts.first()
        tx, _ = transaction_create(by=admin, type="deposit", amount="5.00", currency=account.currency,
                                   customer_id=c.pk, comment=f"wire from {contact}")
        customer_transition(customer=c, pipeline="sales", to="contacted", by=SYSTEM, reason=f"called {contact}") \
            if c.sales_status == "new" else None
        ids.append([note.pk, task.pk, message.pk, tx.pk])
    tasks_flag_overdue()
    return ids[0]  # the first customer's objects fill the path parameters (more ids, much longer walk)


@pytest.mark.parametrize("persona", ["manager", "agent", "hidden"])
def test_no_raw_pii_on_any_get_endpoint_or_page(demo, hidden_viewer, persona):
    viewer = hidden_viewer if persona == "hidden" else demo[persona]
    customers = list(Customer.objects.all())
    visible = list(Customer.objects.visible_to(viewer).exclude(phone="").values_list("pk", flat=True)[:3])
    outside = list(Customer.objects.exclude(pk__in=Customer.objects.visible_to(viewer))
                   .values_list("pk", flat=True)[:1])
    seeded = _seed_free_text(list(Customer.objects.filter(pk__in=visible + outside)), viewer, demo["admin"])
    logins = list(TradingAccount.objects.filter(customer_id__in=visible + outside).values_list("login", flat=True))
    job_id = None
    try:
        from imports.models import ImportJob  # noqa: F401  (present once the import app has jobs)

        job_id = str(ImportJob.objects.values_list("pk", flat=True).first() or uuid.uuid4())
    except Exception:
        pass
    ctx = {"ids": sorted(set(visible + outside + [1] + seeded)), "logins": logins or [1], "job_id": job_id}

    secrets = []
    for c in customers:
        if viewer.role.pii_email != "full":
            secrets += [c.email.encode(), c.email_canonical.encode()]
        if viewer.role.pii_phone != "full" and c.phone:
            secrets += [c.phone.encode(), c.phone.lstrip("+").encode(), _national(c.phone).encode()]
    assert secrets

    client = Client(raise_request_exception=False)
    client.force_login(viewer)
    urls = _urls(ctx)
    assert any(u.startswith("/api/crm/customers") for u in urls)
    fetched = 0
    for url in urls:
        for query in ("", "?search=a", "?page_size=200"):
            response = client.get(url + query)
            body = _body(response)
            fetched += 1
            assert response.status_code < 500, f"{url}{query}: {response.status_code} (the walk would go blind)"
            leaked = [s.decode() for s in secrets if s in body]
            assert not leaked, f"{persona} sees raw PII at {url}{query}: {leaked[:2]}"
    assert fetched > 20
    # the seeded text did reach the viewer's doors, masked: the walk was not vacuous
    page = client.get(f"/customers/{visible[0]}/").content.decode()
    shown = Customer.objects.get(pk=visible[0])
    assert f"Reach at {show_email(shown.email, viewer) or '[hidden]'}" in page
    assert "Call " in client.get("/api/crm/tasks").content.decode()


def test_search_by_email_or_phone_needs_full_visibility(client_for, demo):
    customer = Customer.objects.filter(assigned_to=demo["agent"]).first()

    def found(persona, term):
        response = client_for(persona).get("/api/crm/customers", {"search": term})
        return customer.pk in {c["id"] for c in response.json()["results"]}

    assert found("admin", customer.email)
    assert not found("manager", customer.email)  # masked email: searching it would confirm a guess
    assert not found("agent", customer.email)
    assert found("admin", customer.phone[-6:])
    assert not found("manager", customer.phone[-6:])
    assert found("manager", customer.first_name)


def test_three_views_of_the_same_customer(client_for, demo):
    customer = Customer.objects.filter(assigned_to=demo["agent"]).first()
    local, domain = customer.email.split("@")
    views = {p: client_for(p).get(f"/api/crm/customers/{customer.pk}").json() for p in ("admin", "manager", "agent")}
    assert views["admin"]["email"] == customer.email and views["admin"]["phone"] == customer.phone
    assert views["manager"]["email"] == f"{local[0]}***@{domain}"
    assert views["manager"]["phone"].endswith(customer.phone[-3:]) and "*" in views["manager"]["phone"]
    assert views["agent"]["email"] == f"{local[0]}***@{domain}" and views["agent"]["phone"] is None


def test_export_masks_and_neutralizes_formulas(client_for, demo):
    Customer.objects.filter(pk=Customer.objects.first().pk).update(first_name="=HYPERLINK(1)")
    response = client_for("admin").get("/api/crm/customers/export")
    text = b"".join(response.streaming_content).decode()
    assert "'=HYPERLINK(1)" in text and "\n=HYPERLINK" not in text and ",=HYPERLINK" not in text
