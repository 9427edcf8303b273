from __future__ import annotations

from django.db import models
from django.utils import timezone

from customers.models import CustomerOwnedQuerySet, Source


class Category(models.TextChoices):
    TRANSACTIONAL = "transactional"
    MARKETING = "marketing"


class TemplateBase(models.Model):
    """What email and SMS templates share: a name, a category and the locale translations fall back to."""

    name = models.CharField(max_length=120, unique=True)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.TRANSACTIONAL)
    default_locale = models.CharField(max_length=16, default="en")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EmailTemplate(TemplateBase):
    """An email with one translation per locale; marketing ones go only to customers who consented."""


class EmailTranslation(models.Model):
    """One locale's subject and bodies of an email template."""

    template = models.ForeignKey(EmailTemplate, on_delete=models.CASCADE, related_name="translations")
    locale = models.CharField(max_length=16)
    subject = models.CharField(max_length=255)
    body_html = models.TextField()
    body_text = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "locale"], name="email_translation_once")]

    def __str__(self) -> str:
        return f"{self.template} [{self.locale}]"


class SmsTemplate(TemplateBase):
    """An SMS with one body per locale."""


class SmsTranslation(models.Model):
    """One locale's body of an SMS template."""

    template = models.ForeignKey(SmsTemplate, on_delete=models.CASCADE, related_name="translations")
    locale = models.CharField(max_length=16)
    body = models.TextField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["template", "locale"], name="sms_translation_once")]

    def __str__(self) -> str:
        return f"{self.template} [{self.locale}]"


class Message(models.Model):
    """One email or SMS to a customer: the communication log. queued → sent → delivered / failed / bounced."""

    class Channel(models.TextChoices):
        EMAIL = "email"
        SMS = "sms"

    class Status(models.TextChoices):
        QUEUED = "queued"
        SENDING = "sending"
        SENT = "sent"
        DELIVERED = "delivered"
        FAILED = "failed"
        BOUNCED = "bounced"
        SKIPPED = "skipped"

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="messages")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    template_name = models.CharField(max_length=120)
    locale = models.CharField(max_length=16)
    recipient = models.CharField(max_length=254, help_text="Raw address; shown masked per viewer.")
    subject = models.CharField(max_length=255, blank=True)
    body = models.TextField()
    body_html = models.TextField(blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    provider_id = models.CharField(max_length=120, blank=True, db_index=True)
    error = models.CharField(max_length=500, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    sent_by = models.ForeignKey("teams.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    workflow_run = models.ForeignKey("comms.WorkflowRun", null=True, blank=True, on_delete=models.SET_NULL,
                                     related_name="messages")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CustomerOwnedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["customer", "-created_at"], name="message_customer_log")]

    def __str__(self) -> str:
        return f"{self.channel} {self.template_name} → #{self.customer_id} ({self.status})"


class Workflow(models.Model):
    """When `trigger` happens and the conditions hold, run the actions in order."""

    class Trigger(models.TextChoices):
        CUSTOMER_REGISTERED = "customer.registered"
        STATUS_CHANGED = "status.changed"
        TRANSACTION_COMPLETED = "transaction.completed"
        RETENTION_CHANGED = "retention.changed"
        IMPORT_COMPLETED = "import.completed"
        CUSTOMER_FROZEN = "customer.frozen"
        KYC_EXPIRING = "kyc.expiring"

    name = models.CharField(max_length=120, unique=True)
    trigger = models.CharField(max_length=40, choices=Trigger.choices)
    conditions = models.JSONField(
        default=dict, blank=True, help_text='e.g. {"country": ["GB"], "source": ["affiliate"], "min_amount_usd": "100"}'
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def applies_to(self) -> str:
        """The registration sources the trigger applies to, for the builder (`sources` condition)."""
        sources = (self.conditions or {}).get("sources")
        if not sources:
            return "every source"
        left_out = [s for s in Source.values if s not in sources]
        return ", ".join(sources) + (f" (not {', '.join(left_out)})" if left_out else "")


class WorkflowAction(models.Model):
    """One ordered step of a workflow: send_email, send_sms, assign or create_task, with its parameters."""

    class Kind(models.TextChoices):
        SEND_EMAIL = "send_email"
        SEND_SMS = "send_sms"
        ASSIGN = "assign"
        CREATE_TASK = "create_task"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveSmallIntegerField()
    kind = models.CharField(max_length=16, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["workflow", "position"], name="action_position_once")]

    def __str__(self) -> str:
        return f"{self.workflow}: {self.position}. {self.kind}"


class WorkflowRun(models.Model):
    """One execution of a workflow for one event, with a log of each action's outcome."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        SKIPPED = "skipped"
        FAILED = "failed"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="runs")
    event = models.CharField(max_length=40)
    payload = models.JSONField(default=dict)
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    done_actions = models.JSONField(default=list, blank=True)
    log = models.JSONField(default=list, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = CustomerOwnedQuerySet.as_manager()  # runs without a customer are in no staff scope

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.workflow} run #{self.pk} ({self.status})"
