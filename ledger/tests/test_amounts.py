"""Issue #10: one amount parser for every money door (plain decimals only), and idempotency keys that never
silently stand for a different payment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ledger.models import FxRate, Transaction
from ledger.money import AmountError, amount_parse
from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

URL = "/api/backoffice/transactions"

BAD_AMOUNTS = [
    ("exponent", "1e3"), ("fullwidth-digit", "５"), ("padded", "  5 "), ("nan", "NaN"), ("infinity", "Infinity"),
    ("minus-infinity", "-Infinity"), ("three-places", "5.001"), ("number-three-places", 5.001),
    ("plus-sign", "+5"), ("leading-point", ".5"), ("trailing-point", "5."), ("comma", "5,00"), ("empty", ""),
    ("boolean", True), ("list", ["5"]), ("object", {"amount": "5"}), ("arabic-indic", "٥"), ("superscript", "²"),
    ("underscore", "1_000"), ("hex", "0x10"), ("seventeen-digits", "1" * 17), ("float-exponent", 1e16),
]


@pytest.fixture
def demo(db):
    """The demo's staff and one other customer with a USD account (`funded` builds the agent's customer)."""
    staff = demo_staff()
    customer_with_account("GB", n=2)
    return staff


GOOD_AMOUNTS = [("5", "5.00"), ("5.5", "5.50"), ("5.50", "5.50"), (5, "5.00"), (5.5, "5.50"), ("0.01", "0.01"),
                ("9999999999999999.99", "9999999999999999.99")]


@pytest.mark.parametrize("value", [v for _, v in BAD_AMOUNTS], ids=[name for name, _ in BAD_AMOUNTS])
def test_amount_parse_refuses_anything_but_a_plain_decimal(value):
    with pytest.raises(AmountError) as error:
        amount_parse(value, currency="USD")
    assert list(error.value.fields) == ["amount"]


@pytest.mark.parametrize("value,expected", GOOD_AMOUNTS)
def test_amount_parse_accepts_plain_decimals_and_numbers(value, expected):
    assert str(amount_parse(value, currency="USD")) == expected


def test_amount_places_follow_the_currency():
    assert amount_parse("500", currency="JPY") == Decimal("500")
    with pytest.raises(AmountError, match="decimal places"):
        amount_parse("500.5", currency="JPY")
    with pytest.raises(AmountError, match="decimal places"):
        amount_parse("1.005", currency="USD")


def create(client, account, **body):
    return client.post(URL, {"account_login": account.login, "type": "deposit", "amount": "100.00",
                             "currency": account.currency, **body}, format="json")


@pytest.mark.django_db
@pytest.mark.parametrize("value", [v for _, v in BAD_AMOUNTS], ids=[name for name, _ in BAD_AMOUNTS])
def test_transaction_amount_must_be_a_plain_decimal(client_for, funded, value):
    response = create(client_for("admin"), funded, amount=value)
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error" and "amount" in body["fields"]


@pytest.mark.django_db
def test_transaction_amount_places_follow_the_account_currency(client_for, funded):
    FxRate.objects.update_or_create(currency="JPY", defaults={"usd_rate": Decimal("0.0067")})
    funded.currency = "JPY"
    funded.save()
    admin = client_for("admin")
    response = create(admin, funded, amount="100.50")
    assert response.status_code == 400 and "amount" in response.json()["fields"]
    ok = create(admin, funded, amount="100")
    assert ok.status_code == 201, ok.content


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["1e3", "５", "  5 ", "NaN", "Infinity", "5.001"])
def test_customer_deposit_amount_must_be_a_plain_decimal(demo, value):
    from rest_framework.test import APIClient

    from customers.models import Customer

    client = APIClient()
    session = client.session
    session["customer_id"] = Customer.objects.first().pk
    session.save()
    response = client.post("/api/customer/deposits", {"amount": value, "currency": "USD"}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "validation_error" and "amount" in response.json()["fields"]


@pytest.mark.django_db
@pytest.mark.parametrize("field,value", [("amount", "5.00"), ("amount", "100.01"), ("type", "withdrawal"),
                                         ("currency", "EUR"), ("customer", None)])
def test_idempotency_key_reused_for_a_different_request_is_409(client_for, funded, demo, field, value):
    from customers.models import Customer

    admin = client_for("admin")
    first = create(admin, funded, idempotency_key="k-conflict")
    assert first.status_code == 201, first.content
    if field == "customer":
        other = Customer.objects.exclude(pk=funded.customer_id).filter(accounts__currency="USD").first()
        second = admin.post(URL, {"customer_id": other.pk, "type": "deposit", "amount": "100.00", "currency": "USD",
                                  "idempotency_key": "k-conflict"}, format="json")
    else:
        second = create(admin, funded, idempotency_key="k-conflict", **{field: value})
    assert second.status_code == 409, second.content
    assert second.json()["code"] == "idempotency_conflict"
    assert Transaction.objects.filter(idempotency_key="k-conflict").count() == 1


@pytest.mark.django_db
def test_idempotency_key_with_the_same_request_returns_the_first(client_for, funded):
    admin = client_for("admin")
    first = create(admin, funded, idempotency_key="k-same", amount="100")
    again = create(admin, funded, idempotency_key="k-same", amount="100.00")
    by_customer = admin.post(URL, {"customer_id": funded.customer_id, "type": "deposit", "amount": "100.00",
                                   "currency": funded.currency.lower(), "idempotency_key": "k-same"}, format="json")
    assert first.status_code == 201 and again.status_code == 200 and by_customer.status_code == 200
    assert first.json()["id"] == again.json()["id"] == by_customer.json()["id"]
