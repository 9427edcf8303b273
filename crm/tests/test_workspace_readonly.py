"""Issue #14: read-only roles see values, not editable fields; the demo's trading accounts read true (positions only
on funded accounts, margin levels nowhere near a margin call)."""

from __future__ import annotations

import re

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def _editable_fields(html: str) -> list[str]:
    """Text inputs and textareas of the builder form that are not read-only."""
    form = html[html.index('id="builder"'):html.index("</form>", html.index('id="builder"'))]
    fields = re.findall(r"<(?:textarea|input)\b[^>]*>", form)
    return [f for f in fields if "readonly" not in f and 'type="hidden"' not in f]


@pytest.mark.parametrize("role,can_edit", [("agent", False), ("compliance", False), ("manager", True),
                                           ("admin", True)])
def test_template_builder_is_read_only_for_roles_that_cannot_edit(demo, role, can_edit):
    from comms.models import EmailTemplate

    template = EmailTemplate.objects.order_by("pk").first()
    client = Client()
    client.force_login(demo[role])
    html = client.get(f"/templates/email/{template.pk}/en/").content.decode()
    assert demo[role].holds("communications.manage_templates") is can_edit
    if can_edit:
        assert _editable_fields(html) and 'data-testid="save"' in html and 'data-testid="read-only"' not in html
    else:
        assert _editable_fields(html) == [] and 'data-testid="save"' not in html
        assert 'data-testid="read-only"' in html


def test_customer_page_shows_no_note_or_task_fields_to_a_view_only_role(demo):
    from customers.models import Customer
    from teams.models import Role, User

    role = Role.objects.create(name="viewer", permissions=["customers.view"], customer_view_scope="team")
    viewer = User.objects.create_user("viewer@demo.test", "viewer-password-Xy9", team=demo["agent"].team, role=role)
    customer = Customer.objects.filter(assigned_to=demo["agent"]).order_by("pk").first()
    client = Client()
    client.force_login(viewer)
    html = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "<textarea" not in html and 'name="title"' not in html and 'name="due_at"' not in html
    assert "data-testid=\"move-" not in html


def test_demo_accounts_trade_only_when_funded_with_plausible_margin_levels(demo):
    from crm.trading.simulator import SYMBOLS, Simulator, state_for
    from ledger.models import TradingAccount

    platform = Simulator(seed=1)
    prices = {symbol: spec[0] for symbol, spec in SYMBOLS.items()}
    accounts = list(TradingAccount.objects.exclude(login=None))
    assert accounts and any(a.balance > 0 for a in accounts) and any(a.balance == 0 for a in accounts)
    for account in accounts:
        state = state_for(account, platform, prices)
        if account.balance + account.credit <= 0:
            assert state["margin_used"] == 0 and state["margin_level"] is None and state["pnl"] == 0, state
        elif state["margin_level"] is not None:
            # Positions take at most ~30 % of the funds: far from a margin call (100 %) or a stop-out.
            assert state["margin_level"] > 250, (account.login, account.balance, state)
            assert state["margin_used"] <= float(account.balance + account.credit) * 0.35
