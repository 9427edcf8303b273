"""In a real browser: each demo role logs in and sees the same customer three ways."""

from __future__ import annotations

import pytest

from customers.models import Customer
from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff (who log in), a customer of the agent and one of Sales LATAM, committed so that the live
    server sees them; not the whole demo seed."""
    staff = demo_staff()
    customer_with_account("GB", n=1, assigned_to=staff["agent"])
    customer_with_account("BR", n=2, assigned_to=staff["agent4"])
    return staff


def test_same_customer_three_ways_in_the_workspace(demo_committed, page_for):
    customer = Customer.objects.filter(assigned_to=demo_committed["agent"]).order_by("pk").first()
    local, domain = customer.email.split("@")
    seen = {}
    for persona in ("admin", "manager", "agent"):
        page = page_for(persona)
        page.goto(f"/customers/{customer.pk}/")
        seen[persona] = (page.inner_text("[data-testid=email]"), page.inner_text("[data-testid=phone]"))
        body = page.content()
        if persona != "admin":
            assert customer.email not in body and customer.phone not in body
        page.goto(f"/customers/?search={customer.pk}")
        assert page.locator(f"tr[data-customer-id='{customer.pk}']").count() == 1
    assert seen["admin"] == (customer.email, customer.phone)
    assert seen["manager"][0] == f"{local[0]}***@{domain}"
    assert seen["manager"][1].startswith("+") and seen["manager"][1].endswith(customer.phone[-3:])
    assert "*" in seen["manager"][1]
    assert seen["agent"] == (f"{local[0]}***@{domain}", "—")


def test_out_of_scope_customer_page_is_404(demo_committed, page_for):
    latam = Customer.objects.filter(team__name="Sales LATAM").first()
    page = page_for("agent")
    response = page.goto(f"/customers/{latam.pk}/")
    assert response.status == 404
