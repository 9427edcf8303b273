"""Issue #14, the customer and money operations as forms, and the lists (Django test client, real PostgreSQL).

Every form: valid input does what the API does; invalid input comes back (400) with the message next to its field
and changes nothing; another role's session gets 403/404 and changes nothing."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.test import Client

from brokercrm.csvutil import csv_cell
from comms.models import EmailTemplate, Message
from comms.tests.factories import demo_templates
from crm.tests.factories import customers_across_the_tree
from customers.models import Customer
from ledger.models import Transaction
from ledger.services import transaction_create
from teams import pii
from teams.models import Role, User
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff, templates and workflows, and seven customers of each of the demo's owners (the manager
    sees 28: more than one page of 25) (crm.tests.factories.customers_across_the_tree)."""
    staff = demo_staff()
    demo_templates()
    customers_across_the_tree(staff, per_owner=7)
    return staff


@pytest.fixture
def web(demo):
    def make(name: str) -> Client:
        client = Client()
        client.force_login(demo[name] if isinstance(name, str) else name)
        return client

    return make


@pytest.fixture
def mine(demo):
    """A customer of the demo agent (the manager sees it too), with 1,000 on its first account."""
    customer = Customer.objects.filter(assigned_to=demo["agent"]).exclude(email="").order_by("pk").first()
    account = customer.accounts.order_by("login").first()
    transaction_create(by=demo["admin"], type="deposit", amount="1000.00", currency=account.currency,
                       account_login=account.login)
    return customer


def _freeze(demo, customer) -> None:
    """A chargeback beyond the balance freezes the customer (ledger's own rule)."""
    account = customer.accounts.order_by("login").first()
    account.refresh_from_db()
    transaction_create(by=demo["admin"], type="chargeback", amount=str(account.balance + 500),
                       currency=account.currency, account_login=account.login)
    assert Customer.objects.get(pk=customer.pk).finance_status == "frozen"


def _outsider():
    return User.objects.create_user("far@demo.test", "x-password-Xy9", team=None)


def _error(html: str, form: str, field: str) -> str:
    found = re.search(rf'data-testid="error-{form}-{field}"[^>]*>([^<]*)<', html)
    return found.group(1) if found else ""


# --- transactions --------------------------------------------------------------------------------------------------


def test_agent_creates_a_withdrawal_that_waits_for_approval(web, demo, mine):
    account = mine.accounts.order_by("login").first()
    page = web("agent").get(f"/customers/{mine.pk}/").content.decode()
    # The agent's role creates deposits and withdrawals only: the type list says so.
    types = re.findall(r'<option value="([a-z_]+)"', page.split('data-testid="tx-type"')[1].split("</select>")[0])
    assert types == ["deposit", "withdrawal"]
    assert "Create a {type} of {amount} on account {account_login} for " + mine.first_name in page

    response = web("agent").post(f"/customers/{mine.pk}/ops/transaction",
                                 {"type": "withdrawal", "account_login": account.login, "amount": "250.00",
                                  "comment": "to bank", "idempotency_key": "k-1"}, follow=True)
    tx = Transaction.objects.get(customer=mine, type="withdrawal", idempotency_key="k-1")
    assert (tx.status, tx.amount, tx.created_by) == ("pending_approval", Decimal("250.00"), demo["agent"])
    assert f"Withdrawal of 250.00 {account.currency} for {mine.full_name}" in response.content.decode()
    assert "waits for agent approval" in response.content.decode()
    # The same form submitted twice (same idempotency key) makes one transaction.
    web("agent").post(f"/customers/{mine.pk}/ops/transaction",
                      {"type": "withdrawal", "account_login": account.login, "amount": "250.00",
                       "idempotency_key": "k-1"})
    assert Transaction.objects.filter(customer=mine, type="withdrawal", created_by=demo["agent"]).count() == 1


@pytest.mark.parametrize(("amount", "field", "words"), [
    ("abc", "amount", ""), ("-5", "amount", "greater than zero"), ("999999", "amount", "Not enough available funds"),
    ("10.001", "amount", ""),
])
def test_transaction_form_errors_are_next_to_the_field(web, mine, amount, field, words):
    account = mine.accounts.order_by("login").first()
    before = Transaction.objects.count()
    response = web("agent").post(f"/customers/{mine.pk}/ops/transaction",
                                 {"type": "withdrawal", "account_login": account.login, "amount": amount})
    html = response.content.decode()
    assert response.status_code == 400
    message = _error(html, "transaction", field)
    assert message and words in message and "{" not in message
    assert f'value="{amount}"' in html  # what was typed is kept
    assert Transaction.objects.count() == before


def test_transaction_form_refusals_change_nothing(web, demo, mine):
    account = mine.accounts.order_by("login").first()
    before = Transaction.objects.count()
    # A type the role may not create: 403, not a silent success.
    assert web("agent").post(f"/customers/{mine.pk}/ops/transaction",
                             {"type": "bonus_in", "account_login": account.login, "amount": "5"}).status_code == 403
    # Another agent's customer: 404 (out of scope looks like unknown).
    other = Customer.objects.exclude(assigned_to=demo["agent"]).exclude(
        pk__in=Customer.objects.visible_to(demo["agent"]).values("pk")).first()
    other_account = other.accounts.first()
    assert web("agent").post(f"/customers/{other.pk}/ops/transaction",
                             {"type": "deposit", "account_login": other_account.login,
                              "amount": "5"}).status_code == 404
    # An account of another customer on this customer's form: an error next to the account, nothing created.
    response = web("manager").post(f"/customers/{mine.pk}/ops/transaction",
                                   {"type": "deposit", "account_login": other_account.login, "amount": "5"})
    assert response.status_code == 400 and _error(response.content.decode(), "transaction", "account_login")
    # A role without finance.view_transactions never reaches the form.
    viewer = User.objects.create_user("v@demo.test", "x-password-Xy9", team=demo["agent"].team,
                                      role=Role.objects.create(name="viewer", permissions=["customers.view"],
                                                               customer_view_scope="all"))
    assert web(viewer).post(f"/customers/{mine.pk}/ops/transaction",
                            {"type": "deposit", "account_login": account.login, "amount": "5"}).status_code == 403
    assert Transaction.objects.count() == before


def test_manager_sees_adjustment_types_and_a_frozen_account_is_refused_in_words(web, demo, mine):
    page = web("manager").get(f"/customers/{mine.pk}/").content.decode()
    assert '<option value="bonus_in"' in page and "Bonus in" in page and "Chargeback" in page
    _freeze(demo, mine)
    account = mine.accounts.order_by("login").first()
    response = web("agent").post(f"/customers/{mine.pk}/ops/transaction",
                                 {"type": "withdrawal", "account_login": account.login, "amount": "10"})
    assert response.status_code == 400
    assert "frozen" in _error(response.content.decode(), "transaction", "amount")


# --- unfreeze ------------------------------------------------------------------------------------------------------


def test_unfreeze_needs_a_reason_and_the_right(web, demo, mine):
    _freeze(demo, mine)
    page = web("compliance").get(f"/customers/{mine.pk}/").content.decode()
    assert f"Unfreeze {mine.first_name} {mine.last_name} (#{mine.pk})? Reason: {{reason}}" in page
    response = web("compliance").post(f"/customers/{mine.pk}/unfreeze", {"reason": "  "})
    assert response.status_code == 400
    assert "Say why" in _error(response.content.decode(), "unfreeze", "reason")
    assert web("agent").post(f"/customers/{mine.pk}/unfreeze", {"reason": "please"}).status_code == 403
    assert Customer.objects.get(pk=mine.pk).finance_status == "frozen"
    done = web("compliance").post(f"/customers/{mine.pk}/unfreeze", {"reason": "Chargeback settled"}, follow=True)
    assert Customer.objects.get(pk=mine.pk).finance_status == "depositor"
    assert f"{mine.full_name} is unfrozen." in done.content.decode()


# --- profile, assignment, sending, tasks ------------------------------------------------------------------------------


def test_profile_edit_validation_and_refusal(web, demo, mine):
    long = "x" * 81
    response = web("agent").post(f"/customers/{mine.pk}/ops/profile",
                                 {"first_name": long, "last_name": "Doe", "locale": "en"})
    assert response.status_code == 400
    assert "80 characters" in _error(response.content.decode(), "profile", "first_name")
    assert Customer.objects.get(pk=mine.pk).first_name == mine.first_name
    # Compliance sees every customer but edits none: 403, nothing changes.
    assert web("compliance").post(f"/customers/{mine.pk}/ops/profile",
                                  {"first_name": "Eve", "last_name": "X", "locale": "en"}).status_code == 403
    ok = web("agent").post(f"/customers/{mine.pk}/ops/profile",
                           {"first_name": "Renamed", "last_name": mine.last_name, "locale": "de",
                            "marketing_consent": "on"}, follow=True)
    saved = Customer.objects.get(pk=mine.pk)
    assert (saved.first_name, saved.locale, saved.marketing_consent) == ("Renamed", "de", True)
    assert "Profile saved." in ok.content.decode()


def test_reassign_one_customer(web, demo, mine):
    target = demo["agent2"]
    page = web("manager").get(f"/customers/{mine.pk}/").content.decode()
    assert 'data-testid="assign-form"' in page
    assert 'data-testid="assign-form"' not in web("agent").get(f"/customers/{mine.pk}/").content.decode()
    assert web("agent").post(f"/customers/{mine.pk}/ops/assign", {"assigned_to": target.pk}).status_code == 403
    # An agent outside the manager's teams: refused next to the field.
    stranger = _outsider()
    bad = web("manager").post(f"/customers/{mine.pk}/ops/assign", {"assigned_to": stranger.pk})
    assert bad.status_code == 400 and _error(bad.content.decode(), "assign", "assigned_to")
    assert Customer.objects.get(pk=mine.pk).assigned_to == demo["agent"]
    ok = web("manager").post(f"/customers/{mine.pk}/ops/assign", {"assigned_to": target.pk}, follow=True)
    assert Customer.objects.get(pk=mine.pk).assigned_to == target
    assert f"now assigned to {target}" in ok.content.decode()


def test_send_a_template(web, demo, mine):
    template = EmailTemplate.objects.filter(category="transactional").order_by("pk").first() or \
        EmailTemplate.objects.order_by("pk").first()
    page = web("agent").get(f"/customers/{mine.pk}/").content.decode()
    assert f'value="email:{template.pk}"' in page
    bad = web("agent").post(f"/customers/{mine.pk}/ops/send", {"template": "email:999999"})
    assert bad.status_code == 400 and "Choose a template" in _error(bad.content.decode(), "send", "template")
    # Compliance may view templates but not send them.
    assert web("compliance").post(f"/customers/{mine.pk}/ops/send",
                                  {"template": f"email:{template.pk}"}).status_code == 403
    assert not Message.objects.filter(customer=mine).exists()
    ok = web("agent").post(f"/customers/{mine.pk}/ops/send", {"template": f"email:{template.pk}"}, follow=True)
    message = Message.objects.get(customer=mine)
    assert message.template_name == template.name and message.sent_by == demo["agent"]
    assert template.name in ok.content.decode()


def test_task_with_an_assignee_and_feedback_for_notes_tasks_and_done(web, demo, mine):
    from crm.models import Task

    manager = web("manager")
    bad = manager.post(f"/customers/{mine.pk}/task", {"title": "", "due_at": "tomorrow",
                                                      "assignee_id": _outsider().pk})
    html = bad.content.decode()
    assert bad.status_code == 400
    assert _error(html, "task", "title") and _error(html, "task", "due_at") and _error(html, "task", "assignee_id")
    assert not Task.objects.filter(customer=mine, title="").exists()
    ok = manager.post(f"/customers/{mine.pk}/task", {"title": "Call about KYC", "due_at": "2030-01-02T10:00",
                                                     "assignee_id": demo["agent"].pk}, follow=True)
    task = Task.objects.get(customer=mine, title="Call about KYC")
    assert task.assignee == demo["agent"] and f"Task added for {demo['agent']}" in ok.content.decode()
    done = manager.post(f"/customers/{mine.pk}/task-done", {"task_id": task.pk}, follow=True)
    assert "Task done." in done.content.decode()
    note = manager.post(f"/customers/{mine.pk}/note", {"body": "Spoke to them"}, follow=True)
    assert "Note added." in note.content.decode()
    # A role without pipelines.manage_tasks: 403, no task.
    viewer = User.objects.create_user("v@demo.test", "x-password-Xy9", team=demo["agent"].team,
                                      role=Role.objects.create(name="viewer", permissions=["customers.view"],
                                                               customer_view_scope="all"))
    assert web(viewer).post(f"/customers/{mine.pk}/task", {"title": "Sneaky", "due_at": "2030-01-02T10:00"}
                            ).status_code == 403
    assert not Task.objects.filter(title="Sneaky").exists()


# --- export --------------------------------------------------------------------------------------------------------


def _rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_export_per_role(web, demo, mine):
    # Full PII for the admin.
    response = web("admin").get("/customers/export", {"search": mine.last_name})
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    row = next(r for r in _rows(response) if r["id"] == str(mine.pk))
    assert (row["email"], row["phone"]) == (mine.email, csv_cell(mine.phone))  # "+44…" neutralized as "'+44…"
    # The manager holds reports.export_customers but not the export right: refused, no file.
    refused = web("manager").get("/customers/export")
    assert refused.status_code == 403 and not refused.has_header("Content-Disposition")
    assert web("agent").get("/customers/export").status_code == 403
    # A role with the export right but masked email and hidden phone: the file shows what the role sees.
    role = Role.objects.create(name="exporter", permissions=["customers.view", "reports.export_customers"],
                               customer_view_scope="all", pii_email="masked", pii_phone="hidden",
                               can_export_pii=True)
    exporter = User.objects.create_user("exp@demo.test", "x-password-Xy9", team=demo["agent"].team, role=role)
    listing = web(exporter).get("/customers/").content.decode()
    assert 'data-testid="export"' in listing
    rows = _rows(web(exporter).get("/customers/export", {"country": mine.country}))
    row = next(r for r in rows if r["id"] == str(mine.pk))
    assert row["email"] == pii.mask_email(mine.email) and row["phone"] == ""
    assert all(r["email"] != mine.email for r in rows)
    assert {r["id"] for r in rows} == {str(pk) for pk in Customer.objects.filter(country=mine.country)
                                       .values_list("pk", flat=True)}
    assert 'data-testid="export"' not in web("manager").get("/customers/").content.decode()


# --- lists ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("params", "field"), [
    ({"country": "GBR"}, "country"), ({"sales_status": "bogus"}, "sales_status"),
    ({"registered_from": "yesterday"}, "registered_from"), ({"source": "tv"}, "source"),
    ({"assigned_to": "99999999"}, "assigned_to"), ({"size": "7"}, "size"),
    ({"registered_from": "2026-02-01", "registered_to": "2026-01-01"}, "registered_to"),
])
def test_an_invalid_filter_is_an_error_not_ignored(web, params, field):
    response = web("manager").get("/customers/", params)
    html = response.content.decode()
    assert response.status_code == 400
    assert f'data-testid="filter-error-{field}"' in html
    if field != "size":  # a bad page size falls back to the default size; a bad filter shows no rows
        assert "data-customer-id" not in html  # no unfiltered list passed off as the filtered one


def test_customer_list_sorts_counts_pages_and_filters(web, demo):
    visible = Customer.objects.visible_to(demo["manager"])
    html = web("manager").get("/customers/", {"sort": "name", "size": "25"}).content.decode()
    ids = [int(i) for i in re.findall(r'data-customer-id="(\d+)"', html)]
    expected = list(visible.order_by("last_name", "first_name", "pk").values_list("pk", flat=True)[:25])
    assert ids == expected
    total = visible.count()
    assert f"{total:,} customer{'s' if total != 1 else ''}" in html
    second = web("manager").get("/customers/", {"sort": "-name", "size": "25", "page": "2"}).content.decode()
    ids2 = [int(i) for i in re.findall(r'data-customer-id="(\d+)"', second)]
    assert ids2 == list(visible.order_by("-last_name", "-first_name", "-pk").values_list("pk", flat=True)[25:50])
    assert web("manager").get("/customers/", {"sort": "email"}).status_code == 400  # not a sort key
    country = visible.values_list("country", flat=True).first()
    filtered = web("manager").get("/customers/", {"country": country.lower()}).content.decode()
    ids = {int(i) for i in re.findall(r'data-customer-id="(\d+)"', filtered)}
    assert ids and ids <= set(visible.filter(country=country).values_list("pk", flat=True))
    # Labels in words, codes unchanged in values.
    assert "Not submitted" in html and ">not_submitted<" not in html


def test_bulk_assign_says_what_is_missing(web, demo):
    manager = web("manager")
    pool = list(Customer.objects.editable_by(demo["manager"]).values_list("pk", flat=True)[:2])
    none = manager.post("/customers/bulk-assign", {"customer_ids": pool}, follow=True).content.decode()
    assert "Choose at least one agent" in none and "unknown or not yours" not in none
    nobody = manager.post("/customers/bulk-assign", {"agent_ids": [demo["agent"].pk]}, follow=True).content.decode()
    assert "Choose at least one customer" in nobody
    wrong = manager.post("/customers/bulk-assign", {"customer_ids": pool, "agent_ids": [_outsider().pk]},
                         follow=True).content.decode()
    assert "unknown or not yours" in wrong
    html = manager.get("/customers/").content.decode()
    assert 'data-select-all="customer_ids"' in html and 'multiple size="3"' not in html


def test_tasks_and_imports_lists_count_and_refuse_bad_sorts(web, demo):
    assert "open task" in web("agent").get("/tasks/").content.decode()
    assert web("agent").get("/tasks/", {"sort": "nope"}).status_code == 200  # shown, not ignored:
    assert "Unknown sort" in web("agent").get("/tasks/", {"sort": "nope"}).content.decode()
    assert "import" in web("manager").get("/imports/").content.decode()


def test_cancel_is_not_offered_on_a_finished_import(web, demo):
    from imports.models import ImportJob

    job = ImportJob.objects.create(created_by=demo["manager"], file_name="done.csv", status="completed",
                                     rate_per_second=10)
    assert 'data-testid="cancel"' not in web("manager").get(f"/imports/{job.pk}/").content.decode()
    ImportJob.objects.filter(pk=job.pk).update(status="running")
    assert 'data-testid="cancel"' in web("manager").get(f"/imports/{job.pk}/").content.decode()


def test_approve_buttons_only_where_the_viewer_may_approve(web, demo, mine):
    account = mine.accounts.order_by("login").first()
    transaction_create(by=demo["admin"], type="deposit", amount="20000.00", currency=account.currency,
                       account_login=account.login)
    big, _ = transaction_create(by=demo["agent"], type="withdrawal", amount="15000.00", currency=account.currency,
                                account_login=account.login)
    small, _ = transaction_create(by=demo["agent"], type="withdrawal", amount="20.00", currency=account.currency,
                                  account_login=account.login)
    manager = web("manager").get("/approvals/").content.decode()
    assert f'data-testid="approve-{big.pk}"' not in manager and f'data-testid="cannot-decide-{big.pk}"' in manager
    assert f'data-testid="approve-{small.pk}"' in manager
    agent = web("agent").get("/approvals/").content.decode()
    assert f'data-testid="approve-{small.pk}"' not in agent  # the agent created it (maker-checker)
    compliance = web("compliance").get("/approvals/").content.decode()
    assert (f"Approve withdrawal #{big.pk} of 15000.00 {account.currency} for {mine.first_name} {mine.last_name}?"
            in compliance)
    assert "Needs" in compliance and "Compliance" in compliance
