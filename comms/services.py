"""Templates, rendering, sending and the communication log."""

from __future__ import annotations

import logging
import smtplib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils.html import escape

from brokercrm.actors import actor_check
from brokercrm.errors import DomainError
from brokercrm.uniques import unique_or
from customers.services import activity_record
from ledger import conf as ledger_conf
from ledger.models import Transaction
from teams import pii
from teams.services import audit_record

from . import conf, placeholders, workflows
from .direction import detect_direction, is_rtl_locale
from .models import (
    Category,
    EmailTemplate,
    EmailTranslation,
    Message,
    SmsTemplate,
    SmsTranslation,
    Workflow,
    WorkflowAction,
)
from .providers import SendError, SendPaced, SendTemporaryError, sms_send
from .sms import analyze

log = logging.getLogger(__name__)


class CommsError(DomainError):
    """An error of this app's services (see brokercrm.errors): invalid input, or one of the codes below."""


class UnknownPlaceholders(CommsError):
    """Template text with placeholders the registry does not know: refused at save time."""

    code = "unknown_placeholder"


class NoTranslation(CommsError):
    code = "no_translation"
    status = 409


# --- templates ----------------------------------------------------------------------------------------------------


def _check_placeholders(**texts: str) -> None:
    bad = {field: placeholders.unknown(text) for field, text in texts.items() if placeholders.unknown(text)}
    if bad:
        raise UnknownPlaceholders("Unknown placeholders.",
                                  fields={f: [f"Unknown placeholder: {n if n.startswith('{{') else '{{' + n + '}}'}"
                                              for n in names]
                                          for f, names in bad.items()})


def template_create(*, kind: str, name: str, category: str = Category.TRANSACTIONAL, default_locale: str = "en",
                    by=None):
    """Create an email (`kind="email"`) or SMS template; its translations are added per locale afterwards. A name
    in use is a validation error on `name`."""
    model: type[EmailTemplate] | type[SmsTemplate] = EmailTemplate if kind == "email" else SmsTemplate
    if kind not in ("email", "sms"):
        raise CommsError("Invalid input.", fields={"kind": ["email or sms."]})
    taken = CommsError("Invalid input.", fields={"name": ["A template with this name exists."]})
    if model.objects.filter(name=name).exists():
        raise taken
    if category not in Category.values:
        raise CommsError("Invalid input.", fields={"category": [f"One of {', '.join(Category.values)}."]})
    with unique_or(taken):  # a concurrent request may take the name after the check
        return model.objects.create(name=name, category=category, default_locale=_normalize_locale(default_locale))


def locale_normalize(locale: str) -> str:
    """"pt_br" → "pt-BR"; anything that is not a language (and optional region) is a validation error."""
    return _normalize_locale(locale)


def _normalize_locale(locale: str) -> str:
    parts = locale.replace("_", "-").split("-")
    if not parts[0].isalpha() or len(parts[0]) not in (2, 3) or len(parts) > 2:
        raise CommsError("Invalid locale.", fields={"locale": ["A locale such as en, pt-BR or ar."]})
    return parts[0].lower() + (f"-{parts[1].upper()}" if len(parts) == 2 else "")


@transaction.atomic
def email_translation_put(*, template: EmailTemplate, locale: str, subject: str, body_html: str,
                          body_text: str = "", by=None) -> EmailTranslation:
    """Create or replace one locale of an email template; unknown placeholders are refused (400)."""
    _check_placeholders(subject=subject, body_html=body_html, body_text=body_text)
    translation, _ = EmailTranslation.objects.update_or_create(
        template=template, locale=_normalize_locale(locale),
        defaults={"subject": subject, "body_html": body_html, "body_text": body_text})
    return translation


@transaction.atomic
def sms_translation_put(*, template: SmsTemplate, locale: str, body: str, by=None) -> SmsTranslation:
    _check_placeholders(body=body)
    translation, _ = SmsTranslation.objects.update_or_create(template=template, locale=_normalize_locale(locale),
                                                             defaults={"body": body})
    return translation


def translation_for(template, locale: str | None):
    """Locale fallback: exact (pt-BR) → language (pt) → the template's default locale → any."""
    wanted = []
    if locale:
        try:
            normalized = _normalize_locale(locale)
            wanted += [normalized, normalized.split("-")[0]]
        except CommsError:
            pass
    wanted.append(template.default_locale)
    found = {t.locale: t for t in template.translations.all()}
    for candidate in wanted:
        if candidate in found:
            return found[candidate]
    return next(iter(found.values()), None)


# --- rendering ----------------------------------------------------------------------------------------------------


def context_for(customer=None, *, viewer=None, payload: dict | None = None) -> dict[str, object]:
    """Placeholder values for `customer` (and the event payload). With a `viewer` (previews), email and phone
    are shown as that viewer may see them."""
    ctx: dict[str, object] = {
        "broker.platform_name": settings.PLATFORM_NAME, "broker.support_email": conf.BROKER_SUPPORT_EMAIL,
        "broker.website_url": conf.BROKER_WEBSITE_URL, "broker.company_name": conf.BROKER_COMPANY_NAME,
    }
    if customer is not None:
        email, phone = customer.email, customer.phone
        if viewer is not None:
            email, phone = pii.show_email(email, viewer), pii.show_phone(phone, viewer)
        account = customer.accounts.order_by("login").first()
        ctx.update({
            "customer.first_name": customer.first_name, "customer.last_name": customer.last_name,
            "customer.full_name": customer.full_name, "customer.email": email, "customer.phone": phone,
            "customer.country": customer.country, "customer.locale": customer.locale,
            "customer.group": customer.group.name if customer.group_id else None,
            "customer.account_login": account.login if account else None,
        })
        if account:
            ctx.update({"account.login": account.login, "account.currency": account.currency,
                        "account.balance": account.balance})
        agent = customer.assigned_to
        if agent:
            ctx.update({"agent.first_name": agent.first_name, "agent.last_name": agent.last_name,
                        "agent.full_name": agent.get_full_name(), "agent.email": agent.email})
    if payload and payload.get("transaction_id"):
        tx = Transaction.objects.filter(pk=payload["transaction_id"]).first()
        if tx:
            ctx.update({"transaction.id": tx.pk, "transaction.type": tx.type, "transaction.amount": tx.amount,
                        "transaction.currency": tx.currency, "transaction.status": tx.status})
    return ctx


@dataclass
class RenderedEmail:
    locale: str
    subject: str
    body_html: str
    body_text: str
    direction: str


@dataclass
class RenderedSms:
    locale: str
    body: str
    direction: str


def render_email(template: EmailTemplate, locale: str | None, context: dict) -> RenderedEmail:
    translation = translation_for(template, locale)
    if translation is None:
        raise NoTranslation("The template has no translation yet.")
    return render_email_translation(translation, context)


def render_email_translation(translation: EmailTranslation, context: dict) -> RenderedEmail:
    """The one renderer of an email translation, saved (sending) or not (the builder's preview)."""
    subject = placeholders.render(translation.subject, context, html_escape=False)
    body_html = placeholders.render(translation.body_html, context, html_escape=True)
    body_text = placeholders.render(translation.body_text, context, html_escape=False)
    direction = "rtl" if is_rtl_locale(translation.locale) else detect_direction(body_text or body_html or subject)
    if direction == "rtl":
        body_html = f'<div dir="rtl" lang="{escape(translation.locale)}">{body_html}</div>'
    return RenderedEmail(translation.locale, subject, body_html, body_text, direction)


def render_sms(template: SmsTemplate, locale: str | None, context: dict) -> RenderedSms:
    translation = translation_for(template, locale)
    if translation is None:
        raise NoTranslation("The template has no translation yet.")
    return render_sms_translation(translation, context)


def render_sms_translation(translation: SmsTranslation, context: dict) -> RenderedSms:
    """The one renderer of an SMS translation, saved (sending) or not (the builder's preview); the direction is the
    locale's when it is written right-to-left, else the text's."""
    body = placeholders.render(translation.body, context, html_escape=False)
    direction = "rtl" if is_rtl_locale(translation.locale) else detect_direction(body)
    return RenderedSms(translation.locale, body, direction)


def preview(*, template, locale: str | None, viewer, customer=None, sample: dict | None = None,
            texts: dict[str, str] | None = None) -> dict:
    """The rendered template for the builder: a chosen customer (PII as the viewer may see it) or sample data.

    With `texts` (the builder's unsaved subject/body_html/body_text, or body for SMS) those are rendered for
    `locale` instead of the saved translation, by the same renderer as sending; placeholders the registry does not
    know are listed under `unknown` (saving refuses them)."""
    ctx = placeholders.sample_context() if customer is None else context_for(customer, viewer=viewer)
    if sample:
        ctx.update({k: v for k, v in sample.items() if k in placeholders.BY_NAME})
    unknown: dict[str, list[str]] = {}
    if texts is not None:
        unknown = {f: placeholders.unknown(t) for f, t in texts.items() if placeholders.unknown(t)}
        locale = _normalize_locale(locale or template.default_locale)
    text_locale = locale or template.default_locale  # with `texts`: the normalized locale above
    if isinstance(template, EmailTemplate):
        if texts is not None:
            r = render_email_translation(EmailTranslation(template=template, locale=text_locale,
                                                          subject=texts.get("subject", ""),
                                                          body_html=texts.get("body_html", ""),
                                                          body_text=texts.get("body_text", "")), ctx)
        else:
            r = render_email(template, locale, ctx)
        return {"locale": r.locale, "subject": r.subject, "body_html": r.body_html, "body_text": r.body_text,
                "direction": r.direction, "unknown": unknown}
    if texts is not None:
        sms = render_sms_translation(SmsTranslation(template=template, locale=text_locale, body=texts.get("body", "")),
                                     ctx)
    else:
        sms = render_sms(template, locale, ctx)
    return {"locale": sms.locale, "body": sms.body, **analyze(sms.body).to_dict(), "direction": sms.direction,
            "unknown": unknown}


# --- sending ------------------------------------------------------------------------------------------------------


@transaction.atomic
def message_queue(*, customer, template, by=None, run=None, payload: dict | None = None) -> Message:
    """Render `template` for `customer` into the communication log and send it from a worker after commit.

    Marketing templates skip customers without marketing consent (logged as skipped)."""
    from .tasks import message_send

    channel = Message.Channel.EMAIL if isinstance(template, EmailTemplate) else Message.Channel.SMS
    ctx = context_for(customer, payload=payload)
    if channel == Message.Channel.EMAIL:
        rendered = render_email(template, customer.locale, ctx)
        fields = {"subject": rendered.subject, "body": rendered.body_text, "body_html": rendered.body_html,
                  "recipient": customer.email, "locale": rendered.locale}
    else:
        sms = render_sms(template, customer.locale, ctx)
        fields = {"body": sms.body, "recipient": customer.phone, "locale": sms.locale}
    status = Message.Status.QUEUED
    error = ""
    if template.category == Category.MARKETING and not customer.marketing_consent:
        status, error = Message.Status.SKIPPED, "no marketing consent"
    elif not fields["recipient"]:
        status, error = Message.Status.SKIPPED, f"no {'email' if channel == 'email' else 'phone'}"
    message = Message.objects.create(customer=customer, channel=channel, template_name=template.name,
                                     status=status, error=error, sent_by=by, workflow_run=run, **fields)
    activity_record(customer=customer, verb=f"communication.{channel}", by=by,
                    summary=f"{channel} '{template.name}' {status}", data={"message_id": message.pk})
    if status == Message.Status.QUEUED:
        transaction.on_commit(lambda: message_send.delay(message_id=message.pk))
    return message


def message_deliver(*, message_id: int) -> Message:
    """Send one queued message at its channel's global pace. Claimed with compare-and-set so two workers never send
    it twice; temporary provider errors put it back and raise for the task's retry.

    Steps: 1. skip a message that is no longer queued; 2. take the channel's next send slot (pacing), or raise
    SendPaced when it is too far off (nothing claimed, the task re-queues itself); 3. wait for the slot; if the
    provider asked for a pause meanwhile, back to the queue; else claim the message and send; 4. a Retry-After from
    the provider blocks the whole channel that long for every worker."""
    from . import pacing

    channel = Message.objects.filter(pk=message_id, status=Message.Status.QUEUED).values_list("channel", flat=True)
    if not channel:
        return Message.objects.get(pk=message_id)
    granted, wait = pacing.pace_take(channel[0])
    if not granted:
        raise SendPaced(wait)
    if wait > 0:
        time.sleep(wait)
    blocked = pacing.pace_blocked_for(channel[0])
    if blocked > 0:  # the provider asked for a pause while this send waited for its slot
        raise SendPaced(blocked)
    claimed = Message.objects.filter(pk=message_id, status=Message.Status.QUEUED).update(status=Message.Status.SENDING)
    message = Message.objects.get(pk=message_id)
    if not claimed:
        return message  # another worker got there first, or it is final already
    Message.objects.filter(pk=message_id).update(attempts=message.attempts + 1)
    try:
        if message.channel == Message.Channel.EMAIL:
            email = EmailMultiAlternatives(subject=message.subject, body=message.body or "",
                                           from_email=settings.DEFAULT_FROM_EMAIL, to=[message.recipient],
                                           headers={"X-BrokerCRM-Message": str(message.pk)})
            email.attach_alternative(message.body_html, "text/html")
            try:
                email.send(fail_silently=False)
            except smtplib.SMTPException as exc:
                raise _smtp_error(exc) from None
            provider_id = f"email-{message.pk}"
        else:
            provider_id = sms_send(to=message.recipient, body=message.body, reference=str(message.pk),
                                   callback_url=f"{_base_url()}/api/platform/sms/callbacks")
    except (SendTemporaryError, OSError) as exc:
        Message.objects.filter(pk=message_id).update(status=Message.Status.QUEUED, error=str(exc)[:500])
        retry_after = getattr(exc, "retry_after", None)
        if retry_after:
            pacing.pace_block(message.channel, min(retry_after, conf.COMMS_RETRY_AFTER_MAX))
        raise SendTemporaryError(str(exc), retry_after=retry_after) from None
    except SendError as exc:
        Message.objects.filter(pk=message_id).update(status=Message.Status.FAILED, error=str(exc)[:500])
        return Message.objects.get(pk=message_id)
    Message.objects.filter(pk=message_id).update(status=Message.Status.SENT, provider_id=provider_id, error="")
    return Message.objects.get(pk=message_id)


def _smtp_error(exc: smtplib.SMTPException) -> Exception:
    """SMTP replies: 4xx (421 busy, 450/451/452 try later, 454 throttled) are temporary, 5xx final. No address in
    the text: refusals name the recipient."""
    codes = []
    if isinstance(exc, smtplib.SMTPAuthenticationError):  # our configuration, not the message: retry after a fix
        return SendTemporaryError(f"SMTP relay refused our login ({exc.smtp_code})")
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in exc.recipients.values()]
    elif isinstance(exc, smtplib.SMTPResponseException):
        codes = [exc.smtp_code]
    if codes and all(500 <= code < 600 for code in codes):
        return SendError(f"SMTP relay refused the message ({codes[0]})")
    return SendTemporaryError(f"SMTP relay: {type(exc).__name__}" + (f" ({codes[0]})" if codes else ""))


def message_attempts(*, message_id: int) -> int:
    return Message.objects.filter(pk=message_id).values_list("attempts", flat=True).first() or 0


def message_give_up(*, message_id: int, error: str) -> None:
    Message.objects.filter(pk=message_id, status=Message.Status.QUEUED).update(status=Message.Status.FAILED,
                                                                               error=error[:500])


FINAL_CALLBACK = {"delivered": Message.Status.DELIVERED, "failed": Message.Status.FAILED,
                  "undelivered": Message.Status.FAILED, "bounced": Message.Status.BOUNCED}


def delivery_callback(*, provider_id: str, status: str) -> Message | None:
    """A provider's delivery report: sent → delivered / failed / bounced. Unknown ids and stale reports change
    nothing; a final status never moves back."""
    target = FINAL_CALLBACK.get(status)
    if target is None:
        return None
    Message.objects.filter(provider_id=provider_id, status=Message.Status.SENT).update(status=target)
    return Message.objects.filter(provider_id=provider_id).first()


def _base_url() -> str:
    return ledger_conf.PUBLIC_BASE_URL


# --- workflows ----------------------------------------------------------------------------------------------------


def _workflow_snapshot(workflow: Workflow) -> dict:
    return {"name": workflow.name, "trigger": workflow.trigger, "is_active": workflow.is_active,
            "conditions": workflow.conditions or {},
            "actions": [{"position": a.position, "kind": a.kind, "params": a.params or {}}
                        for a in workflow.actions.order_by("position")]}


@transaction.atomic
def workflow_create(*, data: dict, by) -> Workflow:
    """A workflow with its actions (validated by comms.api.serializers.WorkflowSerializer); audited."""
    actor_check(by)
    data = dict(data)
    actions = data.pop("actions")
    workflow = Workflow.objects.create(**data)
    WorkflowAction.objects.bulk_create([WorkflowAction(workflow=workflow, **a) for a in actions])
    workflows.triggers_changed()
    audit_record(by=by, action="workflow.created", obj=workflow, before=None, after=_workflow_snapshot(workflow))
    return workflow


@transaction.atomic
def workflow_update(*, workflow: Workflow, data: dict, by) -> Workflow:
    """Change a workflow; `actions`, when given, replace the whole list; audited."""
    actor_check(by)
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    before = _workflow_snapshot(workflow)
    data = dict(data)
    actions = data.pop("actions", None)
    for key, value in data.items():
        setattr(workflow, key, value)
    workflow.save()
    if actions is not None:
        workflow.actions.all().delete()
        WorkflowAction.objects.bulk_create([WorkflowAction(workflow=workflow, **a) for a in actions])
    workflows.triggers_changed()
    audit_record(by=by, action="workflow.updated", obj=workflow, before=before, after=_workflow_snapshot(workflow))
    return workflow


@transaction.atomic
def workflow_active_set(*, workflow: Workflow, is_active: bool, by) -> Workflow:
    """Pause or resume a workflow (the workspace's toggle); audited."""
    actor_check(by)
    workflow = Workflow.objects.select_for_update().get(pk=workflow.pk)
    before = {"is_active": workflow.is_active}
    workflow.is_active = is_active
    workflow.save(update_fields=["is_active"])
    workflows.triggers_changed()
    audit_record(by=by, action="workflow.updated", obj=workflow, before=before, after={"is_active": is_active})
    return workflow
