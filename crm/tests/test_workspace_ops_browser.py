"""Issue #14 in a real browser (Debian's Chromium, uvicorn): money operations as forms with confirmations that name
the amount and the customer, the unfreeze with a reason, the export per role, bulk assignment with select-all."""

from __future__ import annotations

import csv
import io

import pytest

from crm.tests.factories import customers_across_the_tree
from customers.models import Customer
from ledger.models import Transaction
from ledger.services import transaction_create
from teams import pii
from teams.tests.factories import demo_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff and two customers of each of the demo's owners (crm.tests.factories.customers_across_the_tree),
    committed so that the live server sees them; the tests fund the workspace's customer themselves."""
    staff = demo_staff()
    customers_across_the_tree(staff, per_owner=2)
    return staff


def _confirming(page) -> list[str]:
    """Accept every confirmation on `page`; returns the list their messages are appended to."""
    asked: list[str] = []
    page.on("dialog", lambda dialog: (asked.append(dialog.message), dialog.accept()))
    return asked


def _fund(workspace, amount: str = "1000.00"):
    customer = workspace.customer
    account = customer.accounts.order_by("login").first()
    transaction_create(by=workspace.users["admin"], type="deposit", amount=amount, currency=account.currency,
                       account_login=account.login)
    return customer, account


def test_agent_creates_a_withdrawal_and_compliance_approves_it(workspace, browser_page):
    customer, account = _fund(workspace)
    agent = browser_page("agent")
    asked = _confirming(agent)
    agent.goto(f"/customers/{customer.pk}/")
    agent.get_by_test_id("tx-type").select_option("withdrawal")
    agent.get_by_test_id("tx-account").select_option(str(account.login))
    agent.get_by_test_id("tx-amount").fill("abc")
    agent.get_by_test_id("tx-create").click()
    agent.wait_for_load_state()
    # The server's message in words next to the field; the typed value kept.
    assert agent.get_by_test_id("error-transaction-amount").is_visible()
    agent.get_by_test_id("tx-amount").fill("300.00")
    agent.get_by_test_id("tx-create").click()
    agent.wait_for_load_state()
    assert asked[-1] == (f"Create a Withdrawal of 300.00 on account {account.login} · {account.currency} for "
                         f"{customer.first_name} {customer.last_name} (#{customer.pk})?")
    assert "waits for" in agent.inner_text(".messages")
    tx = Transaction.objects.get(customer=customer, type="withdrawal", created_by=workspace.users["agent"])
    assert tx.status == "pending_approval"
    # The creator sees no Approve button on their own transaction.
    agent.goto("/approvals/")
    assert agent.locator(f"[data-testid=approve-{tx.pk}]").count() == 0

    compliance = browser_page("compliance")
    asked = _confirming(compliance)
    compliance.goto("/approvals/")
    compliance.get_by_test_id(f"approve-{tx.pk}").click()
    compliance.wait_for_load_state()
    assert asked[-1] == (f"Approve withdrawal #{tx.pk} of 300.00 {account.currency} for "
                         f"{customer.first_name} {customer.last_name}?")
    assert f"Withdrawal #{tx.pk} of 300.00 {account.currency} for {customer.full_name} approved" in \
        compliance.inner_text(".messages")
    assert Transaction.objects.get(pk=tx.pk).status in ("payout_pending", "completed")


def test_dismissing_the_confirmation_changes_nothing(workspace, browser_page):
    customer, account = _fund(workspace)
    agent = browser_page("agent")
    agent.on("dialog", lambda dialog: dialog.dismiss())
    agent.goto(f"/customers/{customer.pk}/")
    agent.get_by_test_id("tx-type").select_option("deposit")
    agent.get_by_test_id("tx-amount").fill("10")
    agent.get_by_test_id("tx-create").click()
    agent.wait_for_timeout(300)
    assert not Transaction.objects.filter(customer=customer, created_by=workspace.users["agent"]).exists()


def test_unfreeze_with_a_reason(workspace, browser_page):
    customer, account = _fund(workspace, "100.00")
    account.refresh_from_db()
    transaction_create(by=workspace.users["admin"], type="chargeback", amount=str(account.balance + 50),
                       currency=account.currency, account_login=account.login)  # below zero: frozen
    assert Customer.objects.get(pk=customer.pk).finance_status == "frozen"
    page = browser_page("compliance")
    asked = _confirming(page)
    page.goto(f"/customers/{customer.pk}/")
    assert page.get_by_test_id("finance-status").inner_text().strip() == "Frozen"
    page.get_by_label("Reason to unfreeze").fill("Chargeback disputed and won")
    page.get_by_test_id("unfreeze").click()
    page.wait_for_load_state()
    assert asked[-1] == (f"Unfreeze {customer.first_name} {customer.last_name} (#{customer.pk})? "
                         "Reason: Chargeback disputed and won")
    assert f"{customer.full_name} is unfrozen." in page.inner_text(".messages")
    assert Customer.objects.get(pk=customer.pk).finance_status == "depositor"


def _download(page, url_text: str = "export") -> list[dict]:
    with page.expect_download() as info:
        page.get_by_test_id(url_text).click()
    with open(info.value.path(), encoding="utf-8") as f:
        return list(csv.DictReader(io.StringIO(f.read())))


def test_export_as_each_role(workspace, browser_page):
    from teams.models import Role, User

    customer = workspace.customer
    admin = browser_page("admin")
    admin.goto(f"/customers/?search={customer.last_name}")
    rows = _download(admin)
    row = next(r for r in rows if r["id"] == str(customer.pk))
    assert row["email"] == customer.email

    role = Role.objects.create(name="exporter", permissions=["customers.view", "reports.export_customers"],
                               customer_view_scope="all", pii_email="masked", pii_phone="hidden",
                               can_export_pii=True)
    User.objects.create_user("exporter@demo.test", "demo-password", team=workspace.users["agent"].team, role=role)
    exporter = browser_page("exporter")
    exporter.goto(f"/customers/?search={customer.last_name}")
    rows = _download(exporter)
    row = next(r for r in rows if r["id"] == str(customer.pk))
    assert row["email"] == pii.mask_email(customer.email) and row["phone"] == ""

    for persona in ("manager", "agent", "compliance"):
        page = browser_page(persona)
        page.goto("/customers/")
        assert page.get_by_test_id("export").count() == 0, persona
        response = page.goto("/customers/export")
        assert response.status == 403, persona


def test_bulk_assign_with_select_all(workspace, browser_page):
    agents = [workspace.users["agent"], workspace.users["agent2"]]
    page = browser_page("manager")
    asked = _confirming(page)
    page.goto("/customers/?size=25&sort=id")
    boxes = page.locator("input[name=customer_ids]")
    on_page = [int(boxes.nth(i).get_attribute("value")) for i in range(boxes.count())]
    assert 0 < len(on_page) <= 25
    # Nothing chosen: a clear message, not "Some agents are unknown".
    page.get_by_test_id("bulk-assign").click()
    page.wait_for_load_state()
    assert "Choose at least one customer and at least one agent" in page.inner_text(".messages")
    page.get_by_test_id("select-all").check()
    assert page.get_by_test_id("selected-count").inner_text() == f"{len(on_page)} selected"
    for agent in agents:
        page.get_by_test_id(f"bulk-agent-{agent.pk}").check()
    page.get_by_test_id("bulk-assign").click()
    page.wait_for_load_state()
    assert f"Assigned {len(on_page)} customers over 2 agents" in page.inner_text(".messages")
    owners = list(Customer.objects.filter(pk__in=on_page).values_list("assigned_to", flat=True))
    assert sorted(owners.count(a.pk) for a in agents) in ([len(on_page) // 2, (len(on_page) + 1) // 2],)
    assert not asked  # assignment is reversible: no confirmation step


def test_the_new_forms_work_under_the_content_security_policy(workspace, browser_page):
    """No inline handler or style: the confirmation and select-all run from workspace.js with the CSP enforced."""
    violations = "window.__csp = []; document.addEventListener('securitypolicyviolation', " \
                 "e => window.__csp.push(e.violatedDirective));"
    customer, account = _fund(workspace)
    page = browser_page("admin", enforce_csp=True)
    page.context.add_init_script(violations)
    asked = _confirming(page)
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_test_id("tx-type").select_option("deposit")
    page.get_by_test_id("tx-amount").fill("12.50")
    page.get_by_test_id("tx-create").click()
    page.wait_for_load_state()
    assert asked and "12.50" in asked[-1] and customer.last_name in asked[-1]
    assert "created" in page.inner_text(".messages")
    page.goto("/customers/?size=25")
    page.get_by_test_id("select-all").check()
    assert page.locator("input[name=customer_ids]:checked").count() == page.locator("input[name=customer_ids]").count()
    assert page.evaluate("() => window.__csp") == []
