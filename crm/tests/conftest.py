"""Workspace browser fixtures: a uvicorn live server on the committed pytest-django test database and a
Playwright page on Debian's Chromium, logged in as a demo persona.

The live server (`live_url`), the committed demo data (`demo_committed`) and the browser (`browser`, `page_for`)
are the project-wide fixtures of the root conftest.py; this module names the workspace's entry points:

    @pytest.mark.browser
    @pytest.mark.django_db(transaction=True)
    def test_something(workspace, browser_page):
        page = browser_page("agent")           # logged in at the dashboard
        page.goto(f"/customers/{workspace.customer.pk}/")
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest


@dataclass
class Workspace:
    users: dict
    customer: object  # a customer the demo agent, manager and admin all see
    base_url: str


@pytest.fixture
def workspace(demo_committed, live_url) -> Workspace:
    """`seed_demo` committed, a live uvicorn server on it, and a customer every persona of the tests can see."""
    from customers.models import Customer

    users = demo_committed
    shared = (Customer.objects.visible_to(users["agent"]) & Customer.objects.visible_to(users["manager"]))
    customer = shared.exclude(email="").exclude(phone="").order_by("pk").first()
    assert customer is not None, "the demo data must give the agent a customer the manager also sees"
    return Workspace(users=users, customer=customer, base_url=live_url)


@pytest.fixture
def browser_page(page_for):
    """`browser_page("agent")` → a Playwright page logged in to the workspace (base URL = the live server)."""
    return page_for
