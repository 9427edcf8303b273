"""KYC in the browser (issue #17): the agent uploads a document on the customer page; compliance approves it in
the review queue (its data-confirm step accepted); the customer page then shows it approved."""

from __future__ import annotations

import pytest

from crm.tests.factories import customers_across_the_tree
from teams.tests.factories import demo_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff and two customers of each of the demo's owners (crm.tests.factories.customers_across_the_tree),
    committed so that the live server sees them; not the whole demo seed."""
    staff = demo_staff()
    customers_across_the_tree(staff, per_owner=2)
    return staff


PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n" + b"\x00" * 200


def test_agent_uploads_and_compliance_approves_in_the_queue(workspace, browser_page):
    from customers.kyc.models import KycDocument

    customer = workspace.customer
    page = browser_page("agent")
    page.goto(f"/customers/{customer.pk}/")
    form = page.get_by_test_id("kyc-upload")
    form.get_by_test_id("kyc-kind").select_option("identity")
    form.get_by_test_id("kyc-file").set_input_files(
        {"name": "passport.pdf", "mimeType": "application/pdf", "buffer": PDF})
    form.get_by_test_id("kyc-upload-submit").click()
    page.wait_for_load_state()
    assert "Document uploaded for review." in page.content()
    assert page.get_by_test_id("kyc-status").inner_text().strip() == "Pending"  # the label of `pending`
    assert page.locator("[data-testid=kyc-document-row]").count() == 0  # masked PII: no documents shown
    doc = KycDocument.objects.get(customer=customer)

    review = browser_page("compliance")
    review.goto("/kyc/")
    row = review.locator(f"tr[data-document-id='{doc.pk}']")
    assert "Identity" in row.inner_text()
    review.once("dialog", lambda dialog: dialog.accept())
    row.get_by_test_id(f"queue-approve-{doc.pk}").click()
    review.wait_for_url("**/kyc/")
    review.wait_for_load_state()
    assert f"Document #{doc.pk} approved." in review.content()
    assert review.locator(f"tr[data-document-id='{doc.pk}']").count() == 0
    review.goto(f"/customers/{customer.pk}/")
    assert review.get_by_test_id(f"kyc-status-{doc.pk}").inner_text().strip() == "Approved"
    doc.refresh_from_db()
    assert doc.status == "approved" and doc.reviewed_by.email == "compliance@demo.test"
