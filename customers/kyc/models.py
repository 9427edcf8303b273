"""KYC documents and the broker's KYC switches (imported by customers.models, so Django registers them there)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from brokercrm.actors import SYSTEM

from ..models import CustomerOwnedQuerySet


class DocumentKind(models.TextChoices):
    IDENTITY = "identity"
    PROOF_OF_ADDRESS = "proof_of_address"
    SELFIE = "selfie"
    OTHER = "other"


class DocumentStatus(models.TextChoices):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class KycSettings(models.Model):
    """The one row of the broker's KYC switches: required kinds, four-eyes, expiry warning, money gates, provider."""

    required_kinds = models.JSONField(default=list, blank=True,
                                      help_text='Kinds that must be approved, e.g. ["identity", "proof_of_address"].')
    four_eyes = models.BooleanField(default=False, help_text="A second, different approver for every document.")
    expiry_warning_days = models.PositiveSmallIntegerField(
        default=14, help_text="Documents expiring within this many days move the customer back to pending.")
    gate_deposits_above_usd = models.DecimalField(
        max_digits=18, decimal_places=2, null=True, blank=True,
        help_text="Deposits above this amount (USD) need approved KYC; empty: deposits are not gated.")
    gate_withdrawals = models.BooleanField(default=False, help_text="Every withdrawal needs approved KYC.")
    gate_further_accounts = models.BooleanField(
        default=False, help_text="Opening a further trading account needs approved KYC.")
    provider_auto_approve = models.BooleanField(
        default=False, help_text="A GREEN provider result approves pending documents without a reviewer.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "KYC settings"

    def __str__(self) -> str:
        return "KYC settings"

    @classmethod
    def current(cls) -> KycSettings:
        """The row, created with the defaults when missing (services: the write paths). Read fresh every time
        (a deposit's gate must see a change at once) with fixed SQL: the ORM compiled this one-row read anew on
        every deposit, which cost more than the read."""
        row = next(iter(cls.objects.raw(f'SELECT * FROM "{cls._meta.db_table}" ORDER BY "id" LIMIT 1')), None)
        if row is None:
            row = cls.objects.create(required_kinds=[DocumentKind.IDENTITY, DocumentKind.PROOF_OF_ADDRESS])
        return row

    @classmethod
    def shown(cls) -> KycSettings:
        """The row, else the defaults unsaved: for reads (pages, panels, selectors), which never write. A data
        migration makes the row; only a flushed database lacks it."""
        return cls.objects.order_by("pk").first() or cls(
            required_kinds=[DocumentKind.IDENTITY, DocumentKind.PROOF_OF_ADDRESS])


class KycDocumentQuerySet(CustomerOwnedQuerySet):
    def visible_to(self, user):
        """Documents `user` may see: on customers they see (the one customer-owned scope), and only with the
        document right (customers.kyc.selectors.can_view_documents: KYC permission and contacts in full)."""
        from .selectors import can_view_documents  # selectors import these models

        if user is not SYSTEM and user is not None and not can_view_documents(user):
            return self.none()
        return super().visible_to(user)


class KycDocument(models.Model):
    """One identity document of a customer: the file (in the private "kyc" storage), its detected type, the
    review (one or two approvers) and a verification provider's result."""

    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="kyc_documents")
    kind = models.CharField(max_length=20, choices=DocumentKind.choices)
    issued_on = models.DateField(null=True, blank=True)
    expires_on = models.DateField(null=True, blank=True)
    file_name = models.CharField(max_length=255, help_text="Key in the kyc storage.")
    original_name = models.CharField(max_length=255, blank=True)
    content_type = models.CharField(max_length=40, help_text="Detected from the file's first bytes.")
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=DocumentStatus.choices, default=DocumentStatus.PENDING)
    reason = models.CharField(max_length=500, blank=True)
    uploaded_by = models.ForeignKey("teams.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_by_customer = models.BooleanField(default=False)
    first_approver = models.ForeignKey("teams.User", null=True, blank=True, on_delete=models.SET_NULL,
                                       related_name="+")
    first_approved_at = models.DateTimeField(null=True, blank=True)
    second_approver = models.ForeignKey("teams.User", null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    reviewed_by = models.ForeignKey("teams.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reviewed_at = models.DateTimeField(null=True, blank=True)
    provider = models.CharField(max_length=20, blank=True)
    provider_reference = models.CharField(max_length=120, blank=True)
    provider_result = models.CharField(max_length=20, blank=True, help_text="e.g. GREEN / RED (Sumsub reviewAnswer).")
    provider_labels = models.JSONField(default=list, blank=True)
    provider_checked_at = models.DateTimeField(null=True, blank=True)
    expiry_flagged_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = KycDocumentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["customer", "kind", "-created_at"], name="kycdoc_customer_kind_idx"),
            models.Index(fields=["status", "created_at"], name="kycdoc_queue_idx"),
            models.Index(fields=["expires_on"], condition=Q(status="approved"), name="kycdoc_expiry_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(status__in=DocumentStatus.values), name="kycdoc_status_valid"),
            models.CheckConstraint(condition=~Q(first_approver=models.F("second_approver"))
                                   | Q(second_approver__isnull=True), name="kycdoc_four_eyes_distinct",
                                   violation_error_message="The second approver must be a different person."),
        ]

    def __str__(self) -> str:
        return f"{self.kind} document #{self.pk} of customer #{self.customer_id}"

    @property
    def awaiting_second_approval(self) -> bool:
        return self.status == DocumentStatus.PENDING and self.first_approver_id is not None


class KycApplicant(models.Model):
    """A customer's applicant at a verification provider (Sumsub): created once, reused for SDK tokens."""

    customer = models.OneToOneField("customers.Customer", on_delete=models.CASCADE, related_name="kyc_applicant")
    provider = models.CharField(max_length=20, default="sumsub")
    applicant_id = models.CharField(max_length=64, unique=True)
    level_name = models.CharField(max_length=80)
    review_answer = models.CharField(max_length=20, blank=True)
    reject_labels = models.JSONField(default=list, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = CustomerOwnedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.provider} applicant {self.applicant_id}"
