"""Templates over HTTP: translations, unknown placeholders, fallback, escaping, RTL, preview masking, analyze."""

from __future__ import annotations

import pytest

from comms.models import EmailTemplate, SmsTemplate
from comms.tests.factories import demo_templates
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
def admin(client_for):
    return client_for("admin")


def test_sheet_flow_create_translate_preview(admin):
    template = admin.post("/api/platform/email-templates", {"name": "hello", "default_locale": "en"}, format="json")
    assert template.status_code == 201
    tid = template.json()["id"]
    body = {"subject": "Welcome, {{customer.first_name}}!",
            "body_html": "<p>Hello {{customer.first_name}},</p>"
                         "<p>Your account with {{broker.platform_name}} is ready.</p>",
            "body_text": "Hello {{customer.first_name}}..."}
    response = admin.put(f"/api/platform/email-templates/{tid}/translations/en", body, format="json")
    assert response.status_code == 200, response.content
    preview = admin.post(f"/api/platform/email-templates/{tid}/preview", {"locale": "en"}, format="json").json()
    assert preview["subject"] == "Welcome, John!" and preview["direction"] == "ltr"
    assert "BrokerCRM" in preview["body_html"]


def test_unknown_placeholder_is_refused_at_save(admin):
    tid = admin.post("/api/platform/sms-templates", {"name": "s"}, format="json").json()["id"]
    response = admin.put(f"/api/platform/sms-templates/{tid}/translations/en",
                         {"body": "Hi {{customer.password}}"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "unknown_placeholder"
    assert "body" in response.json()["fields"]
    assert not SmsTemplate.objects.get(pk=tid).translations.exists()


def test_locale_fallback_exact_language_default(admin, demo):
    template = EmailTemplate.objects.get(name="welcome")  # en (default), ar, he, pt
    url = f"/api/platform/email-templates/{template.pk}/preview"
    assert admin.post(url, {"locale": "pt-BR"}, format="json").json()["locale"] == "pt"
    assert admin.post(url, {"locale": "de-AT"}, format="json").json()["locale"] == "en"
    arabic = admin.post(url, {"locale": "ar-EG"}, format="json").json()
    assert arabic["locale"] == "ar" and arabic["direction"] == "rtl" and 'dir="rtl"' in arabic["body_html"]
    assert admin.post(url, {"locale": "he"}, format="json").json()["direction"] == "rtl"


def test_values_are_escaped_in_html_only(admin):
    tid = admin.post("/api/platform/email-templates", {"name": "esc"}, format="json").json()["id"]
    admin.put(f"/api/platform/email-templates/{tid}/translations/en",
              {"subject": "Hi {{customer.first_name}}", "body_html": "<p>{{customer.first_name}}</p>",
               "body_text": "{{customer.first_name}}"}, format="json")
    preview = admin.post(f"/api/platform/email-templates/{tid}/preview",
                         {"sample": {"customer.first_name": "<script>x</script>"}}, format="json").json()
    assert preview["body_html"] == "<p>&lt;script&gt;x&lt;/script&gt;</p>"
    assert preview["subject"] == "Hi <script>x</script>" and preview["body_text"] == "<script>x</script>"


def test_preview_with_a_customer_masks_per_viewer(client_for, demo):
    customer = Customer.objects.filter(assigned_to=demo["agent"]).first()
    admin = client_for("admin")
    tid = admin.post("/api/platform/email-templates", {"name": "pii"}, format="json").json()["id"]
    admin.put(f"/api/platform/email-templates/{tid}/translations/en",
              {"subject": "x", "body_html": "{{customer.email}} {{customer.phone}}", "body_text": ""}, format="json")
    url = f"/api/platform/email-templates/{tid}/preview"
    full = admin.post(url, {"customer_id": customer.pk}, format="json").json()["body_html"]
    assert customer.email in full
    masked = client_for("agent").post(url, {"customer_id": customer.pk}, format="json").json()["body_html"]
    assert customer.email not in masked and customer.phone not in masked and "***@" in masked
    latam = Customer.objects.filter(team__name="Sales LATAM").first()
    assert client_for("agent").post(url, {"customer_id": latam.pk}, format="json").status_code == 404


def test_sms_analyze_and_preview_counts(admin, demo):
    response = admin.post("/api/platform/sms/analyze", {"text": "]" * 81}, format="json").json()
    assert response == {"encoding": "GSM-7", "segments": 2, "units": 162, "characters": 81, "direction": "ltr"}
    sms = SmsTemplate.objects.get(name="deposit-received")
    preview = admin.post(f"/api/platform/sms-templates/{sms.pk}/preview", {"locale": "ar"}, format="json").json()
    assert preview["encoding"] == "UCS-2" and preview["direction"] == "rtl" and preview["segments"] == 1


def test_permissions(client_for, demo):
    assert client_for("agent").post("/api/platform/email-templates", {"name": "x"}, format="json").status_code == 403
    assert client_for("agent").get("/api/platform/email-templates").status_code == 200
    assert client_for("agent").get("/api/platform/workflows").status_code == 403
    assert client_for("agent").get("/api/platform/placeholders").status_code == 200


def test_marketing_needs_consent(client_for, demo, django_capture_on_commit_callbacks):
    customer = Customer.objects.filter(marketing_consent=False).first()
    template = EmailTemplate.objects.get(name="monthly-offers")
    response = client_for("admin").post(f"/api/platform/email-templates/{template.pk}/send",
                                        {"customer_id": customer.pk}, format="json")
    assert response.status_code == 202 and response.json()["status"] == "skipped"


def test_communication_log_on_customer_page_is_masked(client, demo):
    from comms.services import message_queue

    customer = Customer.objects.filter(assigned_to=demo["agent"]).first()
    message_queue(customer=customer, template=EmailTemplate.objects.get(name="welcome"))
    client.force_login(demo["agent"])
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert "welcome" in page and customer.email not in page and "***@" in page


def test_workflows_can_be_paused_from_the_workspace(client, demo):
    from comms.models import Workflow

    workflow = Workflow.objects.get(name="Welcome new customers")
    client.force_login(demo["agent"])
    assert client.post(f"/workflows/{workflow.pk}/toggle").status_code == 403
    client.force_login(demo["admin"])
    assert client.post(f"/workflows/{workflow.pk}/toggle").status_code == 302
    assert Workflow.objects.get(pk=workflow.pk).is_active is False


def test_viewers_read_translations_but_only_managers_write(client_for, demo):
    template = EmailTemplate.objects.get(name="welcome")
    url = f"/api/platform/email-templates/{template.pk}/translations/en"
    assert client_for("agent").get(url).json()["subject"] == "Welcome, {{customer.first_name}}!"
    response = client_for("agent").put(url, {"subject": "x", "body_html": "y"}, format="json")
    assert response.status_code == 403
