"""Issue #14: the builder previews through the server renderer (the one sending uses), adds templates and locales,
and workflows are created, edited, paused/resumed and run from the workspace."""

from __future__ import annotations

import pytest
from django.test import Client

from comms import services
from comms.models import EmailTemplate, Message, SmsTemplate, Workflow, WorkflowRun
from comms.tests.factories import demo_templates
from crm.models import Task
from customers.models import Customer
from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff, templates and workflows (comms.tests.factories.demo_templates), a customer of the agent
    (GB) and one of Sales LATAM (BR), each with a trading account."""
    staff = demo_staff()
    demo_templates()
    customer_with_account("GB", n=1, assigned_to=staff["agent"])
    customer_with_account("BR", n=2, assigned_to=staff["agent4"])
    return staff


@pytest.fixture
def browse(demo):
    def make(name):
        client = Client()
        client.force_login(demo[name])
        return client

    return make


def preview(client, kind, template, locale, **texts):
    return client.post(f"/templates/{kind}/{template.pk}/{locale}/preview", texts)


def test_arabic_sms_starting_with_a_placeholder_previews_rtl(browse):
    template = SmsTemplate.objects.get(name="deposit-received")
    body = "{{customer.first_name}}، تم استلام إيداعك"
    r = preview(browse("admin"), "sms", template, "ar", body=body).json()
    assert r["direction"] == "rtl" and r["body"].startswith("John،")
    assert r["encoding"] == "UCS-2" and r["segments"] == 1 and r["locale"] == "ar"
    # Under another locale the rendered text decides, exactly as the send path decides it.
    from comms.models import SmsTranslation

    for locale, text in (("en", body), ("en", "{{customer.first_name}} hi"), ("he", "{{customer.first_name}} hi")):
        sent = services.render_sms_translation(SmsTranslation(template=template, locale=locale, body=text),
                                               services.context_for(None) | {"customer.first_name": "John"})
        shown = preview(browse("admin"), "sms", template, locale, body=text).json()
        assert (shown["direction"], shown["body"]) == (sent.direction, sent.body), (locale, text)


def test_preview_is_the_send_renderer_escaped_with_defaults(browse, demo):
    template = EmailTemplate.objects.get(name="welcome")
    customer = Customer.objects.filter(assigned_to=demo["agent"]).order_by("pk").first()
    Customer.objects.filter(pk=customer.pk).update(first_name="<b>Tom</b>")
    customer.refresh_from_db()
    texts = {"subject": "Hi {{customer.first_name}}", "body_html": "<p>Hi {{customer.first_name}}</p>",
             "body_text": "Mail: {{customer.email}} / {{agent.first_name}} {{nope.x}}"}
    r = preview(browse("agent"), "email", template, "en", customer_id=customer.pk, **texts).json()
    assert r["body_html"] == "<p>Hi &lt;b&gt;Tom&lt;/b&gt;</p>"  # escaped like a sent email
    assert r["subject"] == "Hi <b>Tom</b>"
    assert customer.email not in r["body_text"] and "***@" in r["body_text"]  # masked for the agent
    assert r["unknown"] == {"body_text": ["nope.x"]}
    # What the builder shows is what sending renders (same renderer), here for the full-PII admin.
    full = preview(browse("admin"), "email", template, "en", customer_id=customer.pk,
                   **{**texts, "body_text": "Mail: {{customer.email}}"}).json()
    services.email_translation_put(template=template, locale="en", subject=texts["subject"],
                                   body_html=texts["body_html"], body_text="Mail: {{customer.email}}")
    sent = services.render_email(template, "en", services.context_for(customer))
    assert (full["subject"], full["body_html"], full["body_text"]) == (sent.subject, sent.body_html, sent.body_text)
    # An Arabic locale wraps the HTML body for right-to-left, in preview as in sending.
    ar = preview(browse("admin"), "email", template, "ar", subject="{{customer.first_name}}", body_html="<p>x</p>",
                 body_text="").json()
    assert ar["direction"] == "rtl" and ar["body_html"].startswith('<div dir="rtl" lang="ar">')


def test_preview_refuses_out_of_scope_customers_and_bad_locales(browse, demo):
    template = SmsTemplate.objects.get(name="deposit-received")
    other = Customer.objects.exclude(assigned_to=demo["agent"]).order_by("pk").first()
    response = preview(browse("agent"), "sms", template, "en", body="x", customer_id=other.pk)
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    bad = preview(browse("admin"), "sms", template, "not-a-locale-x", body="x")
    assert bad.status_code == 400 and bad.json()["fields"]["locale"]


def test_edit_page_has_dir_auto_sandboxed_frame_picker_and_unsaved_warning(browse, demo):
    template = EmailTemplate.objects.get(name="welcome")
    page = browse("agent").get(f"/templates/email/{template.pk}/en/").content.decode()
    assert page.count('dir="auto"') == 3 and 'sandbox=""' in page and "template-builder.js" in page
    assert "data-testid=\"preview-customer\"" in page and "***@" in page  # the picker masks for the agent
    assert "Add a locale" not in page  # the agent may not manage templates
    with open("static/js/template-builder.js") as handle:
        script = handle.read()
    assert "beforeunload" in script and "srcdoc" in script and "replace(/" not in script  # no JS renderer left


def test_template_and_locale_created_in_the_workspace(browse):
    client = browse("admin")
    response = client.post("/templates/new", {"kind": "sms", "name": "kyc-reminder", "category": "transactional",
                                              "default_locale": "en"})
    template = SmsTemplate.objects.get(name="kyc-reminder")
    assert response.status_code == 302 and response["Location"] == f"/templates/sms/{template.pk}/en/"
    dup = client.post("/templates/new", {"kind": "sms", "name": "kyc-reminder", "category": "transactional"})
    assert dup.status_code == 400 and "A template with this name exists." in dup.content.decode()
    bad = client.post("/templates/new", {"kind": "fax", "name": "x"})
    assert bad.status_code == 400 and "Choose email or SMS." in bad.content.decode()
    added = client.post(f"/templates/sms/{template.pk}/locales", {"locale": "pt_br"})
    assert added.status_code == 302 and added["Location"] == f"/templates/sms/{template.pk}/pt-BR/"
    invalid = client.post(f"/templates/sms/{template.pk}/locales", {"locale": "portuguese brazil"}, follow=True)
    assert "A locale is a language code" in invalid.content.decode()


@pytest.mark.parametrize("persona", ["agent", "compliance"])
def test_template_and_workflow_writes_need_their_permissions(browse, persona):
    client = browse(persona)
    workflow = Workflow.objects.order_by("pk").first()
    template = SmsTemplate.objects.get(name="deposit-received")
    assert client.post("/templates/new", {"kind": "sms", "name": "sneaky"}).status_code == 403
    assert client.post(f"/templates/sms/{template.pk}/locales", {"locale": "fr"}).status_code == 403
    assert client.post("/workflows/new", {"name": "sneaky", "trigger": "customer.registered"}).status_code == 403
    assert client.post(f"/workflows/{workflow.pk}/toggle").status_code == 403
    assert client.post(f"/workflows/{workflow.pk}/run", {"customer_id": 1}).status_code == 403
    assert not SmsTemplate.objects.filter(name="sneaky").exists() and not Workflow.objects.filter(name="sneaky")
    assert Workflow.objects.get(pk=workflow.pk).is_active == workflow.is_active
    assert not WorkflowRun.objects.filter(event="manual").exists()


def test_workflow_created_with_validation_edited_paused_and_run(browse, demo):
    client = browse("admin")
    empty = client.post("/workflows/new", {"name": "Follow-up", "trigger": "customer.registered"})
    assert empty.status_code == 400 and "Add at least one step." in empty.content.decode()
    no_agents = client.post("/workflows/new", {"name": "Follow-up", "trigger": "customer.registered",
                                               "step0_kind": "assign"})
    assert no_agents.status_code == 400 and "Step 1: choose at least one agent" in no_agents.content.decode()
    no_template = client.post("/workflows/new", {"name": "Follow-up", "trigger": "customer.registered",
                                                 "step0_kind": "send_email"})
    assert no_template.status_code == 400 and "names an existing template" in no_template.content.decode()
    assert not Workflow.objects.filter(name="Follow-up").exists()
    response = client.post("/workflows/new", {
        "name": "Follow-up", "trigger": "customer.registered", "is_active": "on", "cond_sources": ["organic"],
        "cond_country": "gb de", "step0_kind": "send_email", "step0_template_email": "welcome",
        "step1_kind": "create_task", "step1_title": "Call the new client", "step1_due": "4",
        "step1_team": "Sales UK"})
    workflow = Workflow.objects.get(name="Follow-up")
    assert response.status_code == 302 and response["Location"] == f"/workflows/{workflow.pk}/"
    assert workflow.conditions == {"country": ["GB", "DE"], "sources": ["organic"]}
    assert [(a.kind, a.params) for a in workflow.actions.all()] == [
        ("send_email", {"template": "welcome"}),
        ("create_task", {"title": "Call the new client", "team": "Sales UK", "due_in_hours": 4})]
    # Run now for a customer the conditions accept.
    customer = Customer.objects.filter(country="GB").order_by("pk").first()
    Customer.objects.filter(pk=customer.pk).update(source="organic")
    run = client.post(f"/workflows/{workflow.pk}/run", {"customer_id": customer.pk})
    assert run.status_code == 302
    done = WorkflowRun.objects.get(workflow=workflow, event="manual")
    assert done.status == "succeeded" and done.done_actions == [1, 2]
    assert Message.objects.filter(customer=customer, workflow_run=done, template_name="welcome").exists()
    assert Task.objects.filter(customer=customer, title="Call the new client").exists()
    page = client.get(f"/workflows/{workflow.pk}/").content.decode()
    assert f"Run #{done.pk} for" in page and "succeeded" in page and "create_task: task #" in page
    # A customer the conditions refuse: skipped, and told why.
    other = Customer.objects.exclude(country__in=["GB", "DE"]).order_by("pk").first()
    client.post(f"/workflows/{workflow.pk}/run", {"customer_id": other.pk})
    assert WorkflowRun.objects.filter(workflow=workflow, customer=other, status="skipped").exists()
    # Pause (the page asks first) and resume.
    assert 'data-confirm="Pause workflow' in page
    client.post(f"/workflows/{workflow.pk}/toggle", {"next": "edit"})
    workflow.refresh_from_db()
    assert not workflow.is_active
    # Edit: steps replaced.
    client.post(f"/workflows/{workflow.pk}/", {"name": "Follow-up", "trigger": "status.changed",
                                               "cond_pipeline": "kyc", "step0_kind": "send_sms",
                                               "step0_template_sms": "deposit-received"})
    workflow.refresh_from_db()
    assert workflow.trigger == "status.changed" and workflow.conditions == {"pipeline": ["kyc"]}
    assert [a.kind for a in workflow.actions.all()] == ["send_sms"]
