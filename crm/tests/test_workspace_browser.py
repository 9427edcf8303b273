"""The workspace in a real browser: masking per role, a status change, a note edited with its history."""

from __future__ import annotations

import pytest

from brokercrm.labels import label
from crm.tests.factories import customers_across_the_tree
from teams import pii
from teams.tests.factories import demo_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff and two customers of each of the demo's owners (crm.tests.factories.customers_across_the_tree),
    committed so that the live server sees them; not the whole demo seed."""
    staff = demo_staff()
    customers_across_the_tree(staff, per_owner=2)
    return staff


def test_masking_per_role_on_list_and_customer_page(workspace, browser_page):
    customer = workspace.customer
    expected = {
        "agent": (pii.mask_email(customer.email), "—"),                              # email masked, phone hidden
        "manager": (pii.mask_email(customer.email), pii.mask_phone(customer.phone)),  # both masked
        "admin": (customer.email, customer.phone),                                    # full
    }
    for persona, (email, phone) in expected.items():
        page = browser_page(persona)
        page.goto(f"/customers/{customer.pk}/")
        assert page.get_by_test_id("email").inner_text().strip() == email, persona
        assert page.get_by_test_id("phone").inner_text().strip() == phone, persona
        html = page.content()
        if persona != "admin":
            assert customer.email not in html and customer.phone not in html, persona
        page.goto(f"/customers/?search={customer.last_name}")
        row = page.locator(f"tr[data-customer-id='{customer.pk}']")
        assert email in row.inner_text(), persona
        if persona != "admin":
            assert customer.email not in page.content(), persona


def test_change_a_status_and_see_it_in_the_activity(workspace, browser_page):
    from customers.models import Customer
    from customers.pipelines import PIPELINES

    customer = workspace.customer
    target = PIPELINES["sales"].allowed_targets(customer.sales_status)[0]
    page = browser_page("manager")
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_test_id(f"move-sales-{target}").click()
    page.wait_for_load_state()
    assert page.get_by_test_id("sales-status").get_attribute("data-code") == target
    assert target in page.get_by_test_id("activity").first.inner_text()
    assert Customer.objects.get(pk=customer.pk).sales_status == target


def test_add_and_edit_a_note_and_see_its_history(workspace, browser_page):
    from crm.models import NoteRevision

    customer = workspace.customer
    page = browser_page("agent")
    page.goto(f"/customers/{customer.pk}/")
    page.get_by_test_id("note-body").fill("Called, asked to ring back on Monday")
    page.get_by_test_id("note-add").click()
    page.wait_for_load_state()
    note = page.get_by_test_id("note").first
    assert "ring back on Monday" in note.get_by_test_id("note-text").inner_text()

    note.locator("summary", has_text="Edit").click()
    note.get_by_test_id("note-edit-body").fill("Called, asked to ring back on Tuesday")
    note.get_by_test_id("note-save").click()
    page.wait_for_load_state()
    note = page.get_by_test_id("note").first
    assert "Tuesday" in note.get_by_test_id("note-text").inner_text()
    note.get_by_test_id("note-history").locator("summary").click()
    revisions = note.get_by_test_id("revision").all_inner_texts()
    assert len(revisions) == 1 and "Monday" in revisions[0] and str(workspace.users["agent"]) in revisions[0]
    assert NoteRevision.objects.filter(note__customer=customer, body__contains="Monday").count() == 1


def test_activity_load_more_and_bulk_assign(workspace, browser_page):
    from datetime import timedelta

    from django.utils import timezone

    from customers.models import Activity, Customer

    customer = workspace.customer
    moment = timezone.now() + timedelta(hours=1)
    Activity.objects.bulk_create([Activity(customer=customer, verb="demo.tie", summary=f"tie {i}", created_at=moment)
                                  for i in range(45)])
    total = Activity.objects.filter(customer=customer).count()
    page = browser_page("manager")
    page.goto(f"/customers/{customer.pk}/")
    items = page.get_by_test_id("activity-item")
    assert items.count() == 20
    while page.get_by_test_id("load-more").count():
        before = items.count()
        page.get_by_test_id("load-more").click()
        page.wait_for_function(f"document.querySelectorAll('[data-testid=activity-item]').length > {before}")
    texts = items.all_inner_texts()
    expected = list(Activity.objects.filter(customer=customer).order_by("-created_at", "-id")
                    .values_list("verb", "summary"))
    assert len(texts) == total and all(f"{label(verb)} {summary}" in text  # verbs shown in words
                                       for (verb, summary), text in zip(expected, texts, strict=True))

    agents = [workspace.users["agent"], workspace.users["agent2"]]
    page.goto("/customers/")
    boxes = page.locator("input[name=customer_ids]")
    picked = [int(boxes.nth(i).get_attribute("value")) for i in range(4)]
    for i in range(4):
        boxes.nth(i).check()
    for agent in agents:  # checkboxes (issue #14: no more Ctrl-click multi-select)
        page.get_by_test_id(f"bulk-agent-{agent.pk}").check()
    page.get_by_test_id("bulk-assign").click()
    page.wait_for_load_state()
    assert "Assigned 4 customers over 2 agents" in page.content()
    owners = list(Customer.objects.filter(pk__in=picked).values_list("assigned_to", flat=True))
    assert sorted(owners.count(a.pk) for a in agents) == [2, 2]
