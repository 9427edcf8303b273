"""Factories of comms' models (factory-boy): templates with a translation, workflows with their actions."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from comms.models import EmailTemplate, EmailTranslation, SmsTemplate, SmsTranslation, Workflow, WorkflowAction


class EmailTemplateFactory(DjangoModelFactory):
    class Meta:
        model = EmailTemplate
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"email-{n}")
    translation = factory.RelatedFactory(
        "comms.tests.factories.EmailTranslationFactory", factory_related_name="template")


class EmailTranslationFactory(DjangoModelFactory):
    class Meta:
        model = EmailTranslation

    template = factory.SubFactory(EmailTemplateFactory, translation=None)
    locale = "en"
    subject = "Hello {{customer.first_name}}"
    body_html = "<p>Hello {{customer.first_name}}</p>"
    body_text = "Hello {{customer.first_name}}"


class SmsTemplateFactory(DjangoModelFactory):
    class Meta:
        model = SmsTemplate
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"sms-{n}")
    translation = factory.RelatedFactory("comms.tests.factories.SmsTranslationFactory", factory_related_name="template")


class SmsTranslationFactory(DjangoModelFactory):
    class Meta:
        model = SmsTranslation

    template = factory.SubFactory(SmsTemplateFactory, translation=None)
    locale = "en"
    body = "Hello {{customer.first_name}}"


class WorkflowFactory(DjangoModelFactory):
    class Meta:
        model = Workflow

    name = factory.Sequence(lambda n: f"workflow-{n}")
    trigger = Workflow.Trigger.CUSTOMER_REGISTERED
    conditions = factory.LazyFunction(dict)
    is_active = True


class WorkflowActionFactory(DjangoModelFactory):
    class Meta:
        model = WorkflowAction

    workflow = factory.SubFactory(WorkflowFactory)
    position = factory.Sequence(lambda n: n + 1)
    kind = WorkflowAction.Kind.CREATE_TASK
    params = factory.LazyFunction(lambda: {"title": "Follow up"})


def demo_templates() -> None:
    """The demo's templates and workflows only (comms.demo): the e-mail templates `welcome` (en, ar, he, pt) and
    `monthly-offers` (marketing), the SMS `deposit-received` (en, ar), and the workflows "Welcome new customers"
    (send `welcome`, a welcome call for the agent or Sales EU) and "Deposit receipt by SMS"."""
    from comms import demo

    demo.seed({}, log=lambda message: None)
