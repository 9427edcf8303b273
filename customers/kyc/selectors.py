"""Reads of KYC: who may see documents, the review queue, what is missing for a customer.

Permission mapping (the catalog stays at 32): seeing documents and their files, and reviewing them, need
`pipelines.change_kyc_status` AND email and phone in full (a masked or hidden PII viewer never sees a document);
uploading for a customer needs `customers.edit` within the edit scope, or the document right."""

from __future__ import annotations

from django.db.models import QuerySet

from teams import pii

from .models import DocumentKind, DocumentStatus, KycDocument, KycSettings

KIND_LABELS = {DocumentKind.IDENTITY: "identity document", DocumentKind.PROOF_OF_ADDRESS: "proof of address",
               DocumentKind.SELFIE: "selfie", DocumentKind.OTHER: "other document"}


def kyc_status_of(*, customer_id: int) -> str | None:
    """A customer's KYC status after an upload (the uploader's own customer, already checked by the service)."""
    from customers.models import Customer  # as in can_upload_for

    return Customer.objects.filter(pk=customer_id).values_list("kyc_status", flat=True).first()


def can_view_documents(user) -> bool:
    """Whether `user` may see documents (and review them) on the customers they see."""
    if user is None or not getattr(user, "is_authenticated", False) or not hasattr(user, "holds"):
        return False
    return user.holds("pipelines.change_kyc_status") and pii.sees_contacts(user)


def can_upload_for(user, customer) -> bool:
    from customers.models import Customer

    if can_view_documents(user) and Customer.objects.visible_to(user).filter(pk=customer.pk).exists():
        return True
    return user.holds("customers.edit") and Customer.objects.editable_by(user).filter(pk=customer.pk).exists()


def document_list(*, user, customer) -> QuerySet[KycDocument]:
    return (KycDocument.objects.visible_to(user).filter(customer=customer)
            .select_related("uploaded_by", "first_approver", "second_approver", "reviewed_by"))


def document_get(*, user, document_id: int) -> KycDocument:
    """One document `user` may see, or KycDocument.DoesNotExist (out of scope or no right: the same 404)."""
    return KycDocument.objects.visible_to(user).select_related("customer").get(pk=document_id)


def review_queue(*, user) -> QuerySet[KycDocument]:
    """Pending documents, oldest first (those awaiting a second approval included)."""
    return (KycDocument.objects.visible_to(user).filter(status=DocumentStatus.PENDING)
            .select_related("customer", "uploaded_by", "first_approver").order_by("created_at", "id"))


def current_documents(customer, *, today=None) -> dict[str, KycDocument]:
    """The latest unexpired document of each kind of `customer` (what the KYC rule looks at)."""
    from django.utils import timezone

    today = today or timezone.localdate()
    latest: dict[str, KycDocument] = {}
    seen: set[str] = set()
    for doc in KycDocument.objects.filter(customer=customer).order_by("-created_at", "-id"):
        if doc.kind in seen:
            continue
        seen.add(doc.kind)
        # Expired, or flagged as about to expire by the expiry scan: the kind needs a new document.
        if (doc.expires_on and doc.expires_on < today) or doc.expiry_flagged_at:
            continue
        latest[doc.kind] = doc
    return latest


def kyc_missing(customer, *, settings: KycSettings | None = None, with_reasons: bool = True) -> list[str]:
    """Human lines saying what is missing before the customer's KYC can be approved (empty when approved).

    `with_reasons=False` leaves out the reviewers' free text (for staff-facing errors, shown unredacted)."""
    settings = settings or KycSettings.shown()
    current = current_documents(customer)
    lines = []
    for kind in settings.required_kinds:
        doc = current.get(kind)
        label = KIND_LABELS.get(kind, kind)
        if doc is None:
            lines.append(f"Missing: {label}.")
        elif doc.status == DocumentStatus.REJECTED:
            said = f": {doc.reason}" if with_reasons and doc.reason else ""
            lines.append(f"The {label} was rejected{said}. Upload a new one.")
        elif doc.status == DocumentStatus.PENDING:
            lines.append(f"The {label} is being reviewed.")
    if not lines and customer.kyc_status != "approved":
        lines.append("The documents are being reviewed.")
    return lines


def kyc_gates(settings: KycSettings | None = None) -> list[str]:
    """The operations that need approved KYC, in words."""
    settings = settings or KycSettings.shown()
    gates = []
    if settings.gate_deposits_above_usd is not None:
        gates.append(f"deposits above {settings.gate_deposits_above_usd} USD")
    if settings.gate_withdrawals:
        gates.append("withdrawals")
    if settings.gate_further_accounts:
        gates.append("opening a further trading account")
    return gates


def kyc_panel(*, user, customer) -> dict:
    """Context of the customer page's documents panel (workspace)."""
    settings = KycSettings.shown()
    viewer = can_view_documents(user)
    return {
        "kyc_can_view": viewer,
        "kyc_can_upload": can_upload_for(user, customer),
        "kyc_documents": list(document_list(user=user, customer=customer)) if viewer else [],
        "kyc_missing": kyc_missing(customer, settings=settings),
        "kyc_gates": kyc_gates(settings),
        "kyc_kinds": DocumentKind.choices,
        "kyc_four_eyes": settings.four_eyes,
    }


def client_kyc_context(*, customer) -> dict:
    """The client area's documents panel: own documents with status and reasons, what is missing, the gates."""
    settings = KycSettings.shown()
    return {
        "kyc_documents": list(KycDocument.objects.filter(customer=customer).order_by("-created_at", "-id")[:50]),
        "kyc_missing": kyc_missing(customer, settings=settings),
        "kyc_gates": kyc_gates(settings),
        "kyc_kinds": DocumentKind.choices,
    }
