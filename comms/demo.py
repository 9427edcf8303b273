"""Demo templates (English, Arabic, Hebrew, Portuguese), an SMS template and a welcome workflow."""

from __future__ import annotations

from .models import EmailTemplate, SmsTemplate, Workflow, WorkflowAction
from .services import email_translation_put, sms_translation_put


def seed(ctx: dict, log) -> None:
    welcome, _ = EmailTemplate.objects.get_or_create(name="welcome", defaults={"default_locale": "en"})
    email_translation_put(template=welcome, locale="en", subject="Welcome, {{customer.first_name}}!",
                          body_html="<p>Hello {{customer.first_name}},</p><p>Your account with "
                                    "{{broker.platform_name}} is ready. Your login: {{customer.account_login}}.</p>",
                          body_text="Hello {{customer.first_name}}, your account with {{broker.platform_name}} "
                                    "is ready. Your login: {{customer.account_login}}.")
    email_translation_put(template=welcome, locale="ar", subject="مرحبا {{customer.first_name}}!",
                          body_html="<p>مرحبا {{customer.first_name}}،</p>"
                                    "<p>حسابك لدى {{broker.platform_name}} جاهز.</p>",
                          body_text="مرحبا {{customer.first_name}}، حسابك لدى {{broker.platform_name}} جاهز.")
    email_translation_put(template=welcome, locale="he", subject="ברוך הבא, {{customer.first_name}}!",
                          body_html="<p>שלום {{customer.first_name}},</p>"
                                    "<p>החשבון שלך ב-{{broker.platform_name}} מוכן.</p>",
                          body_text="שלום {{customer.first_name}}, החשבון שלך ב-{{broker.platform_name}} מוכן.")
    email_translation_put(template=welcome, locale="pt", subject="Bem-vindo, {{customer.first_name}}!",
                          body_html="<p>Olá {{customer.first_name}}, a sua conta está pronta.</p>",
                          body_text="Olá {{customer.first_name}}, a sua conta está pronta.")
    promo, _ = EmailTemplate.objects.get_or_create(name="monthly-offers", defaults={"category": "marketing"})
    email_translation_put(template=promo, locale="en", subject="This month at {{broker.platform_name}}",
                          body_html="<p>{{customer.first_name}}, see this month's offers.</p>",
                          body_text="{{customer.first_name}}, see this month's offers.")
    sms, _ = SmsTemplate.objects.get_or_create(name="deposit-received")
    sms_translation_put(template=sms, locale="en",
                        body="{{broker.platform_name}}: we received your deposit of {{transaction.amount}} "
                             "{{transaction.currency}}. Thank you!")
    sms_translation_put(template=sms, locale="ar",
                        body="{{broker.platform_name}}: استلمنا إيداعك {{transaction.amount}} {{transaction.currency}}")
    # Imported leads are not welcomed: the trigger applies to the other registration sources only, and its welcome
    # call goes to the customer's agent, else to the "Sales EU" team queue (never unassigned).
    welcome_sources = ["organic", "affiliate", "promo", "backoffice"]
    workflow, created = Workflow.objects.get_or_create(
        name="Welcome new customers",
        defaults={"trigger": "customer.registered", "conditions": {"sources": welcome_sources}})
    if created:
        WorkflowAction.objects.create(workflow=workflow, position=1, kind="send_email", params={"template": "welcome"})
        WorkflowAction.objects.create(workflow=workflow, position=2, kind="create_task",
                                      params={"title": "Welcome call", "due_in_hours": 24, "team": "Sales EU"})
    elif "sources" not in (workflow.conditions or {}):  # a demo seeded before sources existed
        workflow.conditions = {**(workflow.conditions or {}), "sources": welcome_sources}
        workflow.save(update_fields=["conditions"])
        for action in workflow.actions.filter(kind="create_task"):
            action.params = {**action.params, "team": action.params.get("team") or "Sales EU"}
            action.save(update_fields=["params"])
    deposit_flow, created = Workflow.objects.get_or_create(name="Deposit receipt by SMS",
                                                           defaults={"trigger": "transaction.completed",
                                                                     "conditions": {"type": ["deposit"]}})
    if created:
        WorkflowAction.objects.create(workflow=deposit_flow, position=1, kind="send_sms",
                                      params={"template": "deposit-received"})
    log(f"{EmailTemplate.objects.count()} email and {SmsTemplate.objects.count()} SMS templates, "
        f"{Workflow.objects.count()} workflows")
