"""`manage.py reconcile_payments` (#13): providers' reports against the ledger, every mismatch listed."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ledger.models import Transaction
from ledger.reconcile import payments_reconcile
from ledger.tests.factories import payment_customers
from teams.tests.factories import demo_staff

from .test_provider_money import bridgerpay_deposit, praxis_deposit, send_bridgerpay, send_praxis

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff, payment routes and rates, and a customer in GB, DE and FR (ledger.tests.factories)."""
    staff = demo_staff()
    payment_customers()
    return staff


def run() -> tuple[str, bool]:
    out = io.StringIO()
    try:
        call_command("reconcile_payments", stdout=out)
    except CommandError:
        return out.getvalue(), False
    return out.getvalue(), True


def test_reconciled_payments_exit_zero(demo, praxis, bridgerpay):
    _, tx, order_id = praxis_deposit(praxis)
    send_praxis(praxis, order_id, "rejected", tid=1)
    send_praxis(praxis, order_id, "approved", tid=2, amount="95.00")  # a changed amount, credited as reported
    send_praxis(praxis, order_id, "approved", tid=3, transaction_type="refund", amount="10.00")
    _, btx, border, _ = bridgerpay_deposit(bridgerpay)
    send_bridgerpay(bridgerpay.notification(border, "approved"))
    send_bridgerpay(bridgerpay.notification(border, "refunded", amount="50.00"))
    output, ok = run()
    assert ok, output
    assert "payments reconcile" in output


def test_every_mismatch_is_listed_and_the_exit_is_non_zero(demo, praxis, bridgerpay):
    # status: expired, then a late approval (the customer paid; the ledger says failed)
    _, expired, expired_order = praxis_deposit(praxis)
    send_praxis(praxis, expired_order, "", expired=True)
    send_praxis(praxis, expired_order, "approved", tid=21)
    # duplicate: two approved attempts on one order
    _, twice, twice_order = praxis_deposit(praxis)
    send_praxis(praxis, twice_order, "approved", tid=31)
    send_praxis(praxis, twice_order, "approved", tid=32)
    # amount: the ledger's amount no longer matches the provider's (edited behind the services' back)
    _, edited, edited_order, _ = bridgerpay_deposit(bridgerpay)
    send_bridgerpay(bridgerpay.notification(edited_order, "approved"))
    Transaction.objects.filter(pk=edited.pk).update(amount=Decimal("205.00"))
    # missing: a refund reported on a deposit that never completed posts nothing
    _, unpaid, unpaid_order = praxis_deposit(praxis)
    send_praxis(praxis, unpaid_order, "reversed", tid=41)

    found = {(m.kind, m.transaction_id) for m in payments_reconcile()}
    assert ("status", expired.pk) in found
    assert ("duplicate", twice.pk) in found
    assert ("amount", edited.pk) in found
    assert ("missing", unpaid.pk) in found
    output, ok = run()
    assert not ok
    for tx in (expired, twice, edited, unpaid):
        assert f"#{tx.pk}" in output


def test_unknown_order_is_reported(demo, praxis):
    _, tx, order_id = praxis_deposit(praxis)
    send_praxis(praxis, order_id, "approved", tid=51)
    Transaction.objects.filter(pk=tx.pk).update(provider="bridgerpay")  # the order no longer matches a deposit
    found = {(m.kind, m.order_id) for m in payments_reconcile(provider="praxis")}
    assert ("missing", order_id) in found


def test_payout_paid_by_the_provider_but_failed_in_the_ledger_is_reported(client_for, funded, bridgerpay):
    from rest_framework.test import APIClient

    from .test_payouts import URL, approved_withdrawal

    tx_id, _ = approved_withdrawal(client_for, funded)
    finance = client_for("compliance")
    finance.post(f"{URL}/{tx_id}/payout", {"provider": "bridgerpay", "psp": "PspName",
                                           "payout_method_type": "bank_account"}, format="json")
    finance.post(f"{URL}/{tx_id}/payout", {"outcome": "failed", "reason": "gave up waiting"}, format="json")
    answer = APIClient().post("/api/payments/webhooks/bridgerpay",
                              bridgerpay.payout_notification(f"W{tx_id}", "approved"), content_type="application/json")
    assert answer.status_code == 200  # acknowledged; the ledger keeps its state
    assert Transaction.objects.get(pk=tx_id).status == "failed"
    found = [m for m in payments_reconcile() if m.transaction_id == tx_id]
    assert [m.kind for m in found] == ["status"] and "approved by the provider" in found[0].detail
