"""Issue #13: Praxis and BridgerPay as their docs describe them (attempts, final amounts, minor units, expiry,
refunds, chargebacks, payload echo, embedding, 401), against the local fakes over real HTTP."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from rest_framework.test import APIClient

from customers.models import Activity
from ledger.currencies import from_minor, to_minor
from ledger.models import PaymentAttempt, Transaction
from ledger.providers.bridgerpay import payload_of
from ledger.services import fx_rate_set, ledger_verify, transaction_create
from ledger.tests.factories import payment_customers
from teams.tests.factories import demo_staff

from .test_payments import customer_client, deposit

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff, payment routes and rates, and a customer in GB, DE and FR (ledger.tests.factories)."""
    staff = demo_staff()
    payment_customers()
    return staff
WEBHOOK = "/api/payments/webhooks/"


def send_praxis(fake, order_id, status, **kwargs):
    headers, raw = fake.notification(order_id, status, **kwargs)
    return APIClient().post(WEBHOOK + "praxis", raw, content_type="application/json",
                            HTTP_GT_AUTHENTICATION=headers["gt-authentication"])


def send_bridgerpay(raw: bytes):
    return APIClient().post(WEBHOOK + "bridgerpay", raw, content_type="application/json")


def praxis_deposit(fake, amount="100.00", currency="EUR"):
    customer, client = customer_client("DE", currency)
    response = deposit(client, amount, currency)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["provider"] == "praxis"
    return customer, Transaction.objects.get(pk=body["transaction_id"]), f"D{body['transaction_id']}"


def balance(customer):
    return customer.accounts.first().balance


# --- ISO 4217 minor units ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("amount,currency,minor", [
    ("100.00", "USD", 10000), ("100", "JPY", 100), ("5000", "KRW", 5000), ("1.50", "KWD", 1500),
    ("2.25", "BHD", 2250), ("12.34", "EUR", 1234)])
def test_minor_units_follow_iso_4217_exponents(amount, currency, minor):
    assert to_minor(Decimal(amount), currency) == minor
    assert from_minor(minor, currency) == Decimal(amount)


def test_minor_units_refuse_fractions_the_currency_has_not():
    with pytest.raises(ValueError):
        to_minor(Decimal("100.50"), "JPY")


def test_praxis_sends_and_reads_jpy_without_cents(demo, praxis):
    fx_rate_set(currency="JPY", usd_rate="0.0067")
    customer, tx, order_id = praxis_deposit(praxis, "10000.00", "JPY")
    assert praxis.sessions[order_id]["amount"] == 10000  # not 1,000,000
    send_praxis(praxis, order_id, "approved", tid=1)
    tx.refresh_from_db()
    assert tx.status == "completed" and tx.amount == Decimal("10000.00") and not tx.amount_mismatch
    assert balance(customer) == Decimal("10000.00")


# --- Praxis: attempts, final amount, expiry -----------------------------------------------------------------------

def test_praxis_rejected_then_approved_attempt_completes_the_deposit(demo, praxis):
    """#13: the order completes on its first approved attempt whatever failed before."""
    customer, tx, order_id = praxis_deposit(praxis)
    assert send_praxis(praxis, order_id, "rejected", tid=101).status_code == 200
    tx.refresh_from_db()
    assert tx.status == "processing"
    send_praxis(praxis, order_id, "approved", tid=102)
    send_praxis(praxis, order_id, "approved", tid=103)  # a second approval: the first one already settled it
    tx.refresh_from_db()
    assert tx.status == "completed" and tx.provider_reference == "102"
    assert balance(customer) == Decimal("100.00")
    attempts = {a.tid: a.status for a in PaymentAttempt.objects.filter(transaction=tx)}
    assert attempts == {"101": "declined", "102": "approved", "103": "approved"}
    assert ledger_verify() == []


def test_praxis_final_amount_is_credited_and_flagged(demo, praxis):
    """#13: transaction.amount may change in the final notification; 95.00 on 100.00 → 95.00 credited, flagged."""
    customer, tx, order_id = praxis_deposit(praxis)
    send_praxis(praxis, order_id, "approved", tid=7, amount="95.00")
    tx.refresh_from_db()
    assert tx.status == "completed"
    assert tx.amount == Decimal("95.00") and tx.requested_amount == Decimal("100.00") and tx.amount_mismatch
    assert balance(customer) == Decimal("95.00")
    entry = Activity.objects.get(customer=customer, verb="transaction.amount_changed")
    assert entry.data["requested"] == "100.00" and entry.data["paid"] == "95.00"
    assert ledger_verify() == []


def test_praxis_session_expiry_closes_the_order(demo, praxis):
    customer, tx, order_id = praxis_deposit(praxis)
    assert send_praxis(praxis, order_id, "", expired=True).status_code == 200
    tx.refresh_from_db()
    assert tx.status == "failed" and "expired" in tx.reason
    # A late approval never moves it back (reconcile_payments reports it).
    send_praxis(praxis, order_id, "approved", tid=5)
    tx.refresh_from_db()
    assert tx.status == "failed" and balance(customer) == Decimal("0.00")


def test_praxis_session_expiry_waits_for_a_pending_attempt(demo, praxis):
    customer, tx, order_id = praxis_deposit(praxis)
    send_praxis(praxis, order_id, "pending", tid=11)
    send_praxis(praxis, order_id, "", expired=True)
    tx.refresh_from_db()
    assert tx.status == "processing"
    send_praxis(praxis, order_id, "approved", tid=11)
    tx.refresh_from_db()
    assert tx.status == "completed" and balance(customer) == Decimal("100.00")


# --- refunds and chargebacks -------------------------------------------------------------------------------------

def test_praxis_refund_posts_a_linked_refund_once(demo, praxis):
    customer, tx, order_id = praxis_deposit(praxis)
    send_praxis(praxis, order_id, "approved", tid=7)
    for _ in range(2):  # the same notification twice posts once
        assert send_praxis(praxis, order_id, "approved", tid=8, transaction_type="refund",
                           amount="40.00", timestamp=1700000001).status_code == 200
    send_praxis(praxis, order_id, "approved", tid=8, transaction_type="refund", amount="40.00",
                timestamp=1700000999)  # re-sent later with a new timestamp: still the same refund
    refunds = Transaction.objects.filter(type="refund", related=tx)
    assert refunds.count() == 1
    refund = refunds.get()
    assert refund.status == "completed" and refund.amount == Decimal("40.00") and refund.provider == "praxis"
    assert balance(customer) == Decimal("60.00")
    assert ledger_verify() == []


def test_praxis_chargeback_posts_a_chargeback_and_freezes(demo, praxis):
    customer, tx, order_id = praxis_deposit(praxis)
    send_praxis(praxis, order_id, "approved", tid=7)
    account = customer.accounts.first()
    transaction_create(by=demo["admin"], type="fee", amount="50.00", currency="EUR", account_login=account.login)
    for _ in range(2):
        send_praxis(praxis, order_id, "chargeback", tid=7)
    chargebacks = Transaction.objects.filter(type="chargeback", related=tx)
    assert chargebacks.count() == 1 and chargebacks.get().amount == Decimal("100.00")
    customer.refresh_from_db()
    assert balance(customer) == Decimal("-50.00") and customer.finance_status == "frozen"
    assert Activity.objects.filter(customer=customer, verb="customer.frozen").exists()
    assert ledger_verify() == []


def test_refund_on_an_unpaid_deposit_moves_nothing(demo, praxis):
    customer, tx, order_id = praxis_deposit(praxis)
    send_praxis(praxis, order_id, "reversed", tid=7)
    assert not Transaction.objects.filter(related=tx).exists()
    assert balance(customer) == Decimal("0.00")


def bridgerpay_deposit(fake, amount="250.00"):
    customer, client = customer_client("GB")
    response = deposit(client, amount)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["provider"] == "bridgerpay"
    return customer, Transaction.objects.get(pk=body["transaction_id"]), f"D{body['transaction_id']}", body


def test_bridgerpay_refund_and_chargeback_post_once(demo, bridgerpay):
    customer, tx, order_id, _ = bridgerpay_deposit(bridgerpay)
    send_bridgerpay(bridgerpay.notification(order_id, "approved"))
    for _ in range(2):
        assert send_bridgerpay(bridgerpay.notification(order_id, "partly_refunded", amount="30.00")).status_code == 200
    send_bridgerpay(bridgerpay.notification(order_id, "chargeback", amount="220.00"))
    send_bridgerpay(bridgerpay.notification(order_id, "chargeback", amount="220.00"))
    assert Transaction.objects.get(type="refund", related=tx).amount == Decimal("30.00")
    assert Transaction.objects.get(type="chargeback", related=tx).amount == Decimal("220.00")
    assert balance(customer) == Decimal("0.00")
    assert ledger_verify() == []


def test_bridgerpay_refund_without_the_payload_is_refused(demo, bridgerpay):
    customer, tx, order_id, _ = bridgerpay_deposit(bridgerpay)
    send_bridgerpay(bridgerpay.notification(order_id, "approved"))
    answer = send_bridgerpay(bridgerpay.notification(order_id, "refunded", payload="guess"))
    assert answer.status_code == 401
    assert not Transaction.objects.filter(related=tx).exists()


# --- BridgerPay: payload, session close, amount, 401, embedding -----------------------------------------------------

def test_payload_echo_is_read_from_data_or_meta():
    assert payload_of({"data": {"payload": "a"}, "meta": {"payload": "b"}}) == "a"
    assert payload_of({"data": {}, "meta": {"payload": "b"}}) == "b"
    assert payload_of({"data": {}, "payload": "c"}) == "c"
    assert payload_of({"data": {}}) == ""


def test_bridgerpay_payload_under_meta_is_accepted(demo, bridgerpay):
    customer, tx, order_id, _ = bridgerpay_deposit(bridgerpay)
    assert send_bridgerpay(bridgerpay.notification(order_id, "approved", payload_in="meta")).status_code == 200
    tx.refresh_from_db()
    assert tx.status == "completed"


def test_bridgerpay_session_close_without_an_answer_fails_the_deposit(demo, bridgerpay):
    customer, tx, order_id, _ = bridgerpay_deposit(bridgerpay)
    send_bridgerpay(bridgerpay.notification(order_id, "cashier.session.init"))
    send_bridgerpay(bridgerpay.notification(order_id, "cashier.session.close"))
    tx.refresh_from_db()
    assert tx.status == "failed" and "closed" in tx.reason


def test_bridgerpay_amount_is_a_json_number(demo, bridgerpay):
    _, _, order_id, _ = bridgerpay_deposit(bridgerpay, "250.10")
    assert bridgerpay.sessions[order_id]["amount"] == 250.1 and isinstance(bridgerpay.sessions[order_id]["amount"],
                                                                          float)


def test_bridgerpay_401_drops_the_token_and_retries_once(demo, bridgerpay):
    bridgerpay_deposit(bridgerpay)
    assert bridgerpay.logins == 1
    bridgerpay.revoke_tokens()
    _, tx, _, _ = bridgerpay_deposit(bridgerpay)
    assert bridgerpay.logins == 2 and tx.provider == "bridgerpay"
    bridgerpay_deposit(bridgerpay)
    assert bridgerpay.logins == 2  # the new token is cached again


def test_bridgerpay_cashier_is_embedded(demo, bridgerpay):
    _, _, _, body = bridgerpay_deposit(bridgerpay)
    embed = body["embed"]
    assert embed["script_src"].endswith("/launcher") and embed["cashier_key"] == bridgerpay.CASHIER_KEY
    assert embed["cashier_token"]


def test_praxis_cashier_is_an_iframe(demo, praxis):
    customer, client = customer_client("DE", "EUR")
    body = deposit(client, "10.00", "EUR").json()
    assert body["embed"] == {"iframe_src": body["redirect_url"]}


def test_client_area_embeds_the_cashier(demo, client):
    from customers.models import Customer

    customer = Customer.objects.filter(country="FR").first()
    client.post("/client/login/", {"email": customer.email, "password": "demo-password"})
    page = client.get("/client/").content.decode()
    assert 'id="cashier"' in page and "data-cashier-token" in page and "iframe" in page


def test_malformed_amounts_are_refused_not_500(demo, praxis, bridgerpay):
    _, tx, order_id = praxis_deposit(praxis)
    headers, raw = praxis.notification(order_id, "approved", tid=1)
    data = json.loads(raw)
    data["transaction"]["amount"] = "lots"
    from ledger.providers.praxis import NOTIFICATION_FIELDS, signature

    signed = signature(data, NOTIFICATION_FIELDS, praxis.SECRET)
    answer = APIClient().post(WEBHOOK + "praxis", json.dumps(data), content_type="application/json",
                              HTTP_GT_AUTHENTICATION=signed)
    # Signed but malformed: a clear 400 with the API.md code (issue #10), and nothing moves.
    assert answer.status_code == 400 and answer.json()["code"] == "validation_error"
    _, btx, border, _ = bridgerpay_deposit(bridgerpay)
    raw = json.loads(bridgerpay.notification(border, "approved"))
    raw["data"]["charge"]["attributes"]["amount"] = "NaN"
    response = send_bridgerpay(json.dumps(raw).encode())
    assert response.status_code == 400 and response.json()["code"] == "validation_error"
    tx.refresh_from_db()
    btx.refresh_from_db()
    assert tx.status == btx.status == "processing"
