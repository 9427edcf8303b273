"""The books: types, lifecycle, approvals, maker-checker, idempotency, freeze, verification."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from ledger.models import LedgerLine, Transaction
from ledger.services import ledger_verify
from ledger.tests.factories import customer_with_account, demo_rates
from ledger.types import TYPES
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff and FX rates, and a customer of Sales LATAM with an account (`funded` builds the agent's
    customer)."""
    staff = demo_staff()
    demo_rates()
    customer_with_account("BR", n=2, assigned_to=staff["agent4"])
    return staff
URL = "/api/backoffice/transactions"


def create(client, account, type="withdrawal", amount="100.00", currency=None, **extra):
    body = {"account_login": account.login, "type": type, "amount": amount,
            "currency": currency or account.currency, **extra}
    return client.post(URL, body, format="json")


@pytest.mark.parametrize("type_", sorted(TYPES))
def test_each_type_moves_its_bucket_and_balances_the_books(client_for, funded, type_):
    spec = TYPES[type_]
    admin, compliance = client_for("admin"), client_for("compliance")
    response = create(admin, funded, type=type_, amount="10.00")
    assert response.status_code == 201, response.content
    tx = response.json()
    if spec.needs_approval:
        assert tx["status"] == "pending_approval" and tx["required_role"] == "agent"
        assert compliance.post(f"{URL}/{tx['id']}/approve").status_code == 200
    else:
        assert tx["status"] == "completed"
    funded.refresh_from_db()
    delta = Decimal("10.00") * spec.sign
    assert getattr(funded, spec.bucket) == (Decimal("1000.00") if spec.bucket == "balance" else Decimal("0")) + delta
    assert ledger_verify() == []
    assert sum(line.amount for line in LedgerLine.objects.filter(transaction_id=tx["id"])) == 0


@pytest.mark.parametrize(
    "amount,currency,role",
    [("999.99", "USD", "agent"), ("1000.00", "USD", "manager"), ("9999.99", "USD", "manager"),
     ("10000.00", "USD", "compliance"), ("925.92", "EUR", "agent"), ("925.93", "EUR", "manager"),
     ("9259.25", "EUR", "manager"), ("9259.26", "EUR", "compliance")],
)
def test_threshold_boundaries(client_for, funded, amount, currency, role):
    funded.currency = currency
    funded.save()
    admin = client_for("admin")
    big = create(admin, funded, type="deposit", amount="50000.00")
    assert big.status_code == 201
    response = create(admin, funded, amount=amount)
    assert response.status_code == 201, response.content
    assert response.json()["required_role"] == role


def test_maker_checker_and_approval_levels(client_for, funded, demo):
    manager = client_for("manager")
    create(client_for("admin"), funded, type="deposit", amount="20000.00")
    small = create(manager, funded, amount="500.00").json()
    assert manager.post(f"{URL}/{small['id']}/approve").json()["code"] == "maker_checker"
    big = create(manager, funded, amount="15000.00").json()
    response = client_for("agent").post(f"{URL}/{big['id']}/approve")
    assert response.status_code == 403 and response.json()["code"] == "approval_level_insufficient"
    assert client_for("compliance").post(f"{URL}/{big['id']}/approve").status_code == 200
    assert client_for("agent").post(f"{URL}/{small['id']}/approve").status_code == 200


def test_reject_needs_a_reason_and_is_final(client_for, funded):
    tx = create(client_for("manager"), funded, amount="100.00").json()
    compliance = client_for("compliance")
    assert compliance.post(f"{URL}/{tx['id']}/reject", {}, format="json").status_code == 400
    assert compliance.post(f"{URL}/{tx['id']}/reject", {"reason": "KYC"}, format="json").json()["status"] == "rejected"
    response = compliance.post(f"{URL}/{tx['id']}/approve")
    assert response.status_code == 409 and response.json()["code"] == "invalid_transition"
    funded.refresh_from_db()
    assert funded.balance == Decimal("1000.00")


def test_withdrawal_beyond_available_funds(client_for, funded):
    agent = client_for("agent")
    assert create(agent, funded, amount="600.00").status_code == 201
    response = create(agent, funded, amount="400.01")
    assert response.status_code == 409 and response.json()["code"] == "insufficient_funds"
    assert create(agent, funded, amount="400.00").status_code == 201


@pytest.mark.parametrize("amount", ["0", "-5.00", "0.001", "abc", "1e400", "NaN"])
def test_bad_amounts(client_for, funded, amount):
    response = create(client_for("admin"), funded, type="deposit", amount=amount)
    assert response.status_code == 400 and "amount" in response.json()["fields"]


def test_currency_must_be_the_accounts(client_for, funded):
    response = create(client_for("admin"), funded, type="deposit", currency="EUR")
    assert response.status_code == 400 and "currency" in response.json()["fields"]


def test_idempotency_key_returns_the_same_transaction(client_for, funded):
    agent = client_for("agent")
    first = create(agent, funded, amount="100.00", idempotency_key="k-1")
    second = create(agent, funded, amount="100.00", idempotency_key="k-1")
    assert first.status_code == 201 and second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert Transaction.objects.filter(idempotency_key="k-1").count() == 1


def test_out_of_scope_account_is_404_and_permissions_403(client_for, funded, demo):
    from customers.models import Customer

    latam = Customer.objects.filter(team__name="Sales LATAM").first().accounts.first()
    response = create(client_for("agent"), latam, amount="1.00")
    assert response.status_code == 404
    response = create(client_for("agent"), funded, type="bonus_in", amount="1.00")
    assert response.status_code == 403


def test_chargeback_freezes_and_unfreeze_is_explicit(client_for, funded, demo):
    from customers.models import Activity

    admin = client_for("admin")
    response = create(admin, funded, type="chargeback", amount="1200.00")
    assert response.status_code == 201 and response.json()["status"] == "completed"
    funded.refresh_from_db()
    customer = funded.customer
    customer.refresh_from_db()
    assert funded.balance == Decimal("-200.00") and customer.finance_status == "frozen"
    assert Activity.objects.filter(customer=customer, verb="customer.frozen").exists()
    detail = admin.get(f"/api/crm/customers/{customer.pk}").json()
    assert detail["finance_status"] == "frozen"
    response = create(admin, funded, amount="1.00")
    assert response.status_code == 409 and response.json()["code"] == "account_frozen"
    assert client_for("agent").post(f"/api/backoffice/customers/{customer.pk}/unfreeze",
                                    {"reason": "x"}, format="json").status_code == 403
    response = client_for("compliance").post(f"/api/backoffice/customers/{customer.pk}/unfreeze",
                                             {"reason": "Settled with the bank"}, format="json")
    assert response.status_code == 200 and response.json()["finance_status"] == "depositor"


def test_approval_rules_get_put_and_validation(client_for):
    admin = client_for("admin")
    assert admin.get("/api/backoffice/approval-rules").json()[1] == {
        "min_amount_usd": "1000.00", "max_amount_usd": "10000.00", "required_role": "manager"}
    gap = [{"min_amount_usd": "0", "max_amount_usd": "500", "required_role": "agent"},
           {"min_amount_usd": "600", "max_amount_usd": None, "required_role": "manager"}]
    assert admin.put("/api/backoffice/approval-rules", gap, format="json").status_code == 400
    overlap = [{"min_amount_usd": "0", "max_amount_usd": "500", "required_role": "agent"},
               {"min_amount_usd": "400", "max_amount_usd": None, "required_role": "manager"}]
    assert admin.put("/api/backoffice/approval-rules", overlap, format="json").status_code == 400
    good = [{"min_amount_usd": "0", "max_amount_usd": "500", "required_role": "agent"},
            {"min_amount_usd": "500", "max_amount_usd": None, "required_role": "compliance"}]
    assert admin.put("/api/backoffice/approval-rules", good, format="json").status_code == 200
    assert client_for("agent").put("/api/backoffice/approval-rules", good, format="json").status_code == 403


def test_lines_are_append_only_in_the_database(funded):
    if connection.vendor != "postgresql":
        pytest.skip("the trigger is PostgreSQL's")
    from django.db import InternalError, ProgrammingError, transaction

    line = LedgerLine.objects.first()
    with pytest.raises((InternalError, ProgrammingError)), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE ledger_ledgerline SET amount = 0 WHERE id = %s", [line.pk])


def test_verify_ledger_command_detects_tampering(funded):
    call_command("verify_ledger")
    from ledger.models import TradingAccount

    TradingAccount.objects.filter(pk=funded.pk).update(balance=Decimal("1.00"))
    with pytest.raises(Exception, match="inconsistent"):
        call_command("verify_ledger")


def test_approvals_rejections_and_unfreeze_are_audited(client_for, funded):
    from teams.models import AuditLog

    tx = create(client_for("manager"), funded, amount="10.00").json()
    client_for("compliance").post(f"{URL}/{tx['id']}/approve")
    entry = AuditLog.objects.get(action="transaction.approved", object_id=str(tx["id"]))
    # An approved withdrawal is debited and waits for its payout (#13).
    assert entry.actor.email == "compliance@demo.test" and entry.after["status"] == "payout_pending"
    tx2 = create(client_for("manager"), funded, amount="10.00").json()
    client_for("compliance").post(f"{URL}/{tx2['id']}/reject", {"reason": "no"}, format="json")
    assert AuditLog.objects.filter(action="transaction.rejected", object_id=str(tx2["id"])).exists()
