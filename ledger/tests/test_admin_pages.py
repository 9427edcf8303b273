"""Issue #14: payment routes, FX rates and approval rules in the workspace, through the platform API's serializers
and the ledger's services; refusals change nothing, validation errors are words next to the field."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from ledger.models import ApprovalRule, FxRate, PaymentRoute
from ledger.tests.factories import demo_rates, payment_routes
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff, FX rates and payment routes (the approval tiers come from a migration)."""
    staff = demo_staff()
    demo_rates()
    payment_routes()
    return staff


@pytest.fixture
def browse(demo):
    def make(name):
        client = Client()
        client.force_login(demo[name])
        return client

    return make


@pytest.mark.parametrize("persona", ["manager", "agent", "compliance"])
def test_money_settings_need_manage_payment_routes(browse, persona):
    client = browse(persona)
    rules = list(ApprovalRule.objects.values_list("min_amount_usd", "required_role"))
    routes = PaymentRoute.objects.count()
    for url in ("/administration/payment-routes/", "/administration/fx-rates/", "/administration/approval-rules/"):
        assert client.get(url).status_code == 403
    assert client.post("/administration/payment-routes/", {"verb": "create", "provider": "sandbox"}).status_code == 403
    assert client.post("/administration/fx-rates/", {"currency": "EUR", "usd_rate": "9"}).status_code == 403
    assert client.post("/administration/approval-rules/", {"min_amount_usd": ["0"], "max_amount_usd": [""],
                                                           "required_role": ["agent"]}).status_code == 403
    assert list(ApprovalRule.objects.values_list("min_amount_usd", "required_role")) == rules
    assert PaymentRoute.objects.count() == routes
    assert FxRate.objects.filter(currency="EUR").first().usd_rate != Decimal("9")


def test_payment_routes_create_edit_delete(browse):
    client = browse("admin")
    bad = client.post("/administration/payment-routes/", {"verb": "create", "country": "GB", "provider": "paypal",
                                                          "priority": "x", "min_amount": "abc"})
    text = bad.content.decode()
    assert bad.status_code == 400 and "is not a valid choice." in text and "A valid integer is required." in text
    before = PaymentRoute.objects.count()
    ok = client.post("/administration/payment-routes/", {"verb": "create", "country": "gb", "currency": "gbp",
                                                         "provider": "sandbox", "priority": "3", "is_active": "on"})
    assert ok.status_code == 302 and PaymentRoute.objects.count() == before + 1
    route = PaymentRoute.objects.get(country="GB", currency="GBP", provider="sandbox")
    client.post("/administration/payment-routes/", {"verb": "update", "route": route.pk, "country": "GB",
                                                    "currency": "GBP", "provider": "praxis", "priority": "4"})
    route.refresh_from_db()
    assert route.provider == "praxis" and route.priority == 4 and not route.is_active
    page = client.get("/administration/payment-routes/").content.decode()
    assert "data-confirm=\"Delete the route" in page
    client.post("/administration/payment-routes/", {"verb": "delete", "route": route.pk})
    assert not PaymentRoute.objects.filter(pk=route.pk).exists()


def test_fx_rate_set_and_refused(browse):
    client = browse("admin")
    bad = client.post("/administration/fx-rates/", {"currency": "EUR", "usd_rate": "-1"})
    assert bad.status_code == 400 and "Must be positive." in bad.content.decode()
    bad = client.post("/administration/fx-rates/", {"currency": "EUR", "usd_rate": "lots"})
    assert bad.status_code == 400 and "A valid number is required." in bad.content.decode()
    ok = client.post("/administration/fx-rates/", {"currency": "eur", "usd_rate": "1.0825"})
    assert ok.status_code == 302
    assert FxRate.objects.get(currency="EUR").usd_rate == Decimal("1.0825")
    assert "1 EUR = 1.0825 USD from now on." in client.get("/administration/fx-rates/").content.decode()


def test_approval_rules_replaced_or_refused_in_words(browse):
    client = browse("admin")
    before = list(ApprovalRule.objects.values_list("min_amount_usd", "max_amount_usd", "required_role"))
    gap = client.post("/administration/approval-rules/", {
        "min_amount_usd": ["0", "2000", ""], "max_amount_usd": ["1000", "", ""],
        "required_role": ["agent", "compliance", ""]})
    text = gap.content.decode()
    assert gap.status_code == 400 and "ranges must not overlap or leave gaps" in text
    assert list(ApprovalRule.objects.values_list("min_amount_usd", "max_amount_usd", "required_role")) == before
    typo = client.post("/administration/approval-rules/", {"min_amount_usd": ["zero"], "max_amount_usd": [""],
                                                           "required_role": ["boss"]})
    assert typo.status_code == 400 and "Tier 1, approver: &quot;boss&quot; is not a valid choice." in \
        typo.content.decode()
    ok = client.post("/administration/approval-rules/", {
        "min_amount_usd": ["0", "5000", ""], "max_amount_usd": ["5000", "", ""],
        "required_role": ["manager", "compliance", ""]})
    assert ok.status_code == 302
    assert list(ApprovalRule.objects.order_by("min_amount_usd").values_list("required_role", flat=True)) == \
        ["manager", "compliance"]
