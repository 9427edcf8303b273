"""Issue #14 in a real browser: a template and a locale created in the workspace with the server's preview (an
Arabic SMS starting with a placeholder shows rtl; the HTML body previews as HTML in a sandbox; unsaved edits warn
before leaving), and a workflow created and run."""

from __future__ import annotations

import pytest

from comms.models import SmsTemplate, Workflow, WorkflowRun
from comms.tests.factories import demo_templates
from crm.models import Task
from crm.tests.factories import customers_across_the_tree
from customers.models import Customer
from teams.tests.factories import demo_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff, templates and workflows, and two customers of each of the demo's owners, committed so
    that the live server sees them; not the whole demo seed."""
    staff = demo_staff()
    demo_templates()
    customers_across_the_tree(staff, per_owner=2)
    return staff


def test_template_and_locale_created_with_the_server_preview(demo_committed, page_for):
    page = page_for("admin")
    page.goto("/templates/")
    page.select_option("#t-kind", "sms")
    page.fill("#t-name", "kyc-nudge")
    page.click("[data-testid=template-create-submit]")
    page.wait_for_url("**/templates/sms/*/en/")
    page.locator("[data-testid=sms-body]").fill("Hello {{customer.first_name}} <b>")
    page.wait_for_function("document.querySelector('[data-testid=preview]').textContent === 'Hello John <b>'")
    assert page.inner_text("[data-testid=direction]") == "ltr"
    page.click("[data-testid=save]")
    page.wait_for_selector("text=Saved en.")

    page.fill("#new-locale", "ar")
    page.click("[data-testid=locale-add-submit]")
    page.wait_for_url("**/templates/sms/*/ar/")
    page.locator("[data-testid=sms-body]").fill("{{customer.first_name}}، أكمل التحقق من هويتك")
    page.wait_for_function("document.querySelector('[data-testid=direction]').textContent === 'rtl'")
    assert page.get_attribute("[data-testid=preview]", "dir") == "rtl"
    page.wait_for_function("document.querySelector('[data-testid=preview]').textContent.startsWith('John')")
    assert "UCS-2" in page.inner_text("[data-testid=sms-counter]")
    assert page.get_attribute("[data-testid=sms-body]", "dir") == "auto"
    # A real customer in the picker: the preview uses their data, rendered by the server.
    customer = Customer.objects.order_by("-pk").first()
    page.select_option("[data-testid=preview-customer]", str(customer.pk))
    page.wait_for_function(f"document.querySelector('[data-testid=preview]').textContent.startsWith("
                           f"{customer.first_name!r})")
    page.click("[data-testid=save]")
    page.wait_for_selector("text=Saved ar.")
    template = SmsTemplate.objects.get(name="kyc-nudge")
    assert template.translations.get(locale="ar").body.startswith("{{customer.first_name}}")
    # Unsaved edits: leaving asks first.
    page.locator("[data-testid=sms-body]").press("End")
    page.keyboard.type(" !")
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.close(run_before_unload=True)
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"]


def test_email_html_body_previews_as_html_in_a_sandbox(demo_committed, page_for):
    from comms.models import EmailTemplate

    template = EmailTemplate.objects.get(name="welcome")
    page = page_for("admin")
    page.goto(f"/templates/email/{template.pk}/en/")
    page.fill("#f-html", "<h2>Hi {{customer.first_name}}</h2><script>parent.document.title='pwned'</script>")
    frame = page.frame_locator("[data-testid=preview-html]")
    frame.locator("h2", has_text="Hi John").wait_for()
    assert page.title() != "pwned"
    assert page.get_attribute("[data-testid=preview-html]", "sandbox") == ""


def test_workflow_created_and_run(demo_committed, page_for):
    customer = Customer.objects.filter(country="GB").order_by("pk").first()
    page = page_for("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto("/templates/")
    page.click("[data-testid=workflow-new]")
    page.fill("#w-name", "GB follow-up")
    page.select_option("#w-trigger", "customer.registered")
    page.fill("#c-country", "GB")
    page.select_option("#s0-kind", "send_email")
    page.select_option("#s0-email", "welcome")
    page.select_option("#s1-kind", "create_task")
    page.fill("#s1-title", "Call about the welcome email")
    page.fill("#s1-due", "2")
    page.select_option("#s1-team", "Sales UK")
    page.click("[data-testid=workflow-save]")
    page.wait_for_selector("text=Workflow “GB follow-up” saved: 2 steps, active.")
    workflow = Workflow.objects.get(name="GB follow-up")
    page.select_option("#run-customer", str(customer.pk))
    page.click("[data-testid=workflow-run-submit]")
    page.wait_for_selector("text=all 2 step(s) done")
    run = WorkflowRun.objects.get(workflow=workflow, event="manual")
    assert run.status == "succeeded"
    assert page.inner_text(f"[data-testid=run-{run.pk}] [data-testid=run-status]") == "succeeded"
    assert Task.objects.filter(customer=customer, title="Call about the welcome email").exists()
    page.click("[data-testid=workflow-toggle] button")
    page.wait_for_selector("text=Workflow “GB follow-up” paused.")
    workflow.refresh_from_db()
    assert not workflow.is_active
