"""Writes of KYC: uploads, reviews (with four-eyes), the pipeline rule, expiry, provider results, the money gate.

Every step lands in the customer's activity and the audit log, in the same transaction as the change."""

from __future__ import annotations

import hashlib
import logging
import uuid
from datetime import date, timedelta

from django.core import signing
from django.db import transaction
from django.utils import timezone

from brokercrm import errors
from brokercrm.actors import SYSTEM
from brokercrm.errors import DomainError
from brokercrm.events import event_emit
from teams.services import audit_record

from . import conf
from .filetypes import EXTENSIONS, is_executable, sniff
from .models import DocumentKind, DocumentStatus, KycDocument, KycSettings
from .selectors import KIND_LABELS, can_upload_for, can_view_documents, current_documents, kyc_missing
from .storage import kyc_storage

log = logging.getLogger(__name__)

LINK_SALT = "customers.kyc.document-file"


class KycError(DomainError):
    """An error of the KYC services (see brokercrm.errors): invalid input; the codes of its own below."""


class KycNotFound(KycError, errors.NotFound):
    """Unknown, or outside the caller's view scope."""


class KycPermissionDenied(KycError, errors.PermissionDenied):
    pass


class KycInvalidTransition(KycError, errors.InvalidTransition):
    pass


class KycMakerChecker(KycError):
    """The uploader approving, or (four-eyes) the first approver approving again."""

    code = "maker_checker"
    status = 403


class KycRequired(KycError):
    """The broker's KYC rules hold the operation until KYC is approved; `fields["kyc"]` says what is missing."""

    code = "kyc_required"
    status = 409


class DocumentExpired(KycError):
    code = "document_expired"


class FileTooLarge(KycError, errors.TooLarge):
    pass


class UnsupportedFileType(KycError):
    code = "unsupported_file_type"


class InvalidSignature(KycError, errors.InvalidSignature):
    pass


class InvalidJson(KycError):
    code = "invalid_json"


def _audit(by, action: str, document: KycDocument, **after) -> None:
    audit_record(by=by, action=action, obj=document, before=None,
                 after={"customer": document.customer_id, "kind": document.kind, "status": document.status,
                        **after})


def _activity(document: KycDocument, verb: str, summary: str, by=None, **data) -> None:
    from customers.services import activity_record

    activity_record(customer=document.customer, verb=verb, by=by, summary=summary,
                    data={"document_id": document.pk, "kind": document.kind, **data})


# --- upload -------------------------------------------------------------------------------------------------------


def _validate_dates(issued_on: date | None, expires_on: date | None) -> None:
    if issued_on and issued_on > timezone.localdate():
        raise KycError("The issue date is in the future.", fields={"issued_on": ["Not in the future."]})
    if issued_on and expires_on and expires_on <= issued_on:
        raise KycError("The expiry date must come after the issue date.", fields={"expires_on": ["After issued_on."]})
    if expires_on and expires_on < timezone.localdate():
        raise DocumentExpired("This document has already expired.",
                       fields={"expires_on": ["The document has expired."]})


def document_upload(*, customer, file, kind: str, issued_on: date | None = None, expires_on: date | None = None,
                    by=None, by_customer: bool = False) -> KycDocument:
    """Store an uploaded document of `customer` (by a staff member `by`, or by the customer with by_customer).

    Steps: permission (staff: customers.edit in edit scope or the document right) → size (413 too_large) →
    type from the first bytes (400 unsupported_file_type; a renamed executable says so) → dates → write to the
    "kyc" storage → row, activity, audit, pipeline rule in one transaction (the file is removed on rollback)."""
    from customers.models import Customer

    if not by_customer:
        if by is None or not Customer.objects.visible_to(by).filter(pk=customer.pk).exists():
            raise KycNotFound("No such customer.")
        if not can_upload_for(by, customer):
            raise KycPermissionDenied("Uploading documents needs customers.edit on this customer, or the KYC right.")
    if kind not in DocumentKind.values:
        raise KycError("Unknown document kind.", fields={"kind": [f"One of: {', '.join(DocumentKind.values)}."]})
    if file is None:
        raise KycError("A file is required.", fields={"file": ["Required."]})
    if file.size > conf.KYC_MAX_UPLOAD_BYTES:
        raise FileTooLarge(f"The file is larger than {conf.KYC_MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
                           fields={"file": [f"At most {conf.KYC_MAX_UPLOAD_BYTES} bytes."]})
    file.seek(0)
    head = file.read(32)
    file.seek(0)
    content_type = sniff(head)
    if content_type is None:
        what = "an executable program" if is_executable(head) else "not a PDF, JPEG, PNG or HEIC file"
        raise UnsupportedFileType(f"This file is {what}; upload a PDF, JPEG, PNG or HEIC.",
                       fields={"file": ["PDF, JPEG, PNG or HEIC only (checked from the content, not the name)."]})
    _validate_dates(issued_on, expires_on)
    digest = hashlib.sha256()
    for chunk in file.chunks():
        digest.update(chunk)
    file.seek(0)
    storage = kyc_storage()
    name = storage.save(f"{customer.pk}/{uuid.uuid4().hex}.{EXTENSIONS[content_type]}", file)
    try:
        with transaction.atomic():
            document = KycDocument.objects.create(
                customer=customer, kind=kind, issued_on=issued_on, expires_on=expires_on, file_name=name,
                original_name=(getattr(file, "name", "") or "")[-255:], content_type=content_type, size=file.size,
                sha256=digest.hexdigest(), uploaded_by=None if by_customer else by, uploaded_by_customer=by_customer,
            )
            who = "the customer" if by_customer else str(by)
            _activity(document, "kyc.document.uploaded", f"{KIND_LABELS[kind].capitalize()} uploaded by {who}",
                      by=None if by_customer else by)
            _audit(None if by_customer else by, "kyc.document.uploaded", document, content_type=content_type,
                   size=file.size, by_customer=by_customer)
            kyc_sync(customer=customer, by=None if by_customer else by)
    except Exception:
        storage.delete(name)
        raise
    return document


# --- review -------------------------------------------------------------------------------------------------------


def _review_lock(document: KycDocument, by) -> KycDocument:
    """Lock the customer, then the document (one order everywhere: two reviews of one customer serialize)."""
    from customers.models import Customer

    if not can_view_documents(by):
        # Without the document right the document does not exist for this caller.
        raise KycNotFound("No such document.")
    found = KycDocument.objects.visible_to(by).filter(pk=document.pk).values_list("customer_id", flat=True).first()
    if found is None:
        raise KycNotFound("No such document.")
    Customer.objects.select_for_update(of=("self",)).filter(pk=found).first()
    return KycDocument.objects.select_for_update(of=("self",)).select_related("customer").get(pk=document.pk)


@transaction.atomic
def document_approve(*, document: KycDocument, by) -> KycDocument:
    """Approve a document. With four-eyes on, the first approval waits for a second, different approver (403
    maker_checker for the same person, and for the uploader). Approving an approved document is a no-op."""
    document = _review_lock(document, by)
    if document.status == DocumentStatus.APPROVED:
        return document
    if document.status != DocumentStatus.PENDING:
        raise KycInvalidTransition(f"The document is {document.status}, not pending.")
    if document.uploaded_by_id == by.pk:
        raise KycMakerChecker("The person who uploaded a document cannot approve it.")
    settings = KycSettings.current()
    now = timezone.now()
    if settings.four_eyes and document.first_approver_id is None:
        document.first_approver = by
        document.first_approved_at = now
        document.save(update_fields=["first_approver", "first_approved_at"])
        _activity(document, "kyc.document.first_approval", f"{KIND_LABELS[document.kind].capitalize()} approved "
                  f"by {by} (first of two)", by=by)
        _audit(by, "kyc.document.first_approval", document)
        return document
    if settings.four_eyes and document.first_approver_id == by.pk:
        raise KycMakerChecker("Four-eyes review: a second, different person must approve.")
    if document.first_approver_id is None:
        document.first_approver = by
        document.first_approved_at = now
    else:
        document.second_approver = by
    document.status = DocumentStatus.APPROVED
    document.reason = ""
    document.reviewed_by = by
    document.reviewed_at = now
    document.save()
    _activity(document, "kyc.document.approved", f"{KIND_LABELS[document.kind].capitalize()} approved by {by}",
              by=by, second_approver=document.second_approver_id)
    _audit(by, "kyc.document.approved", document, first_approver=document.first_approver_id,
           second_approver=document.second_approver_id)
    kyc_sync(customer=document.customer, by=by)
    return document


@transaction.atomic
def document_reject(*, document: KycDocument, by, reason: str) -> KycDocument:
    """Reject a document with a reason (shown to the customer in the client area). One reviewer suffices."""
    reason = (reason or "").strip()
    if not reason:
        raise KycError("A reason is required.", fields={"reason": ["Say why, for the customer."]})
    document = _review_lock(document, by)
    if document.status == DocumentStatus.REJECTED:
        return document
    if document.status != DocumentStatus.PENDING:
        raise KycInvalidTransition(f"The document is {document.status}, not pending.")
    document.status = DocumentStatus.REJECTED
    document.reason = reason[:500]
    document.reviewed_by = by
    document.reviewed_at = timezone.now()
    document.save()
    _activity(document, "kyc.document.rejected", f"{KIND_LABELS[document.kind].capitalize()} rejected by {by}",
              by=by, reason=document.reason)
    _audit(by, "kyc.document.rejected", document, reason=document.reason)
    kyc_sync(customer=document.customer, by=by)
    return document


# --- the pipeline rule --------------------------------------------------------------------------------------------


def kyc_target(customer, *, settings: KycSettings | None = None) -> str | None:
    """The KYC status the documents call for: any current document rejected → rejected; every required kind
    approved → approved; otherwise pending. None when the customer has no current document at all."""
    settings = settings or KycSettings.current()
    current = current_documents(customer)
    if not current:
        return None
    if any(d.status == DocumentStatus.REJECTED for d in current.values()):
        return "rejected"
    required = list(settings.required_kinds) or list(current)
    if all(k in current and current[k].status == DocumentStatus.APPROVED for k in required):
        return "approved"
    return "pending"


def kyc_sync(*, customer, by=None) -> str:
    """Move the customer's KYC status to what the documents call for (through pending where the pipeline needs
    it); the moves are the pipeline's own (activity, `status.changed`). Call inside the change's transaction."""
    from customers.models import Customer
    from customers.pipelines import PIPELINES
    from customers.services import customer_transition

    customer = Customer.objects.get(pk=customer.pk)
    target = kyc_target(customer)
    current = customer.kyc_status
    if target is None or target == current:
        return current
    reason = ""
    if target == "rejected":
        reason = "; ".join(f"{KIND_LABELS[d.kind]}: {d.reason}" for d in current_documents(customer).values()
                           if d.status == DocumentStatus.REJECTED)
    spec = PIPELINES["kyc"]
    if target not in spec.allowed_targets(current):
        customer = customer_transition(customer=customer, pipeline="kyc", to="pending", by=by or SYSTEM,
                                       check_permission=False, reason="documents")
    customer_transition(customer=customer, pipeline="kyc", to=target, by=by or SYSTEM, check_permission=False,
                        reason=reason or "documents")
    return target


# --- expiry ------------------------------------------------------------------------------------------------------


def kyc_expiry_scan(*, today: date | None = None) -> int:
    """Flag approved documents that expire within `expiry_warning_days` (today included), once each.

    For each customer with such a current document: the KYC status goes back to pending (from approved), the
    step is recorded (activity, audit), and `kyc.expiring` is emitted after commit (crm opens a task for
    compliance; comms workflows with that trigger message the customer). Returns the number of customers."""
    from customers.models import Customer

    today = today or timezone.localdate()
    settings = KycSettings.current()
    horizon = today + timedelta(days=settings.expiry_warning_days)
    customer_ids = list(KycDocument.objects.filter(
        status=DocumentStatus.APPROVED, expires_on__isnull=False, expires_on__lte=horizon,
        expiry_flagged_at__isnull=True).values_list("customer_id", flat=True).distinct())
    moved = 0
    for customer_id in customer_ids:
        with transaction.atomic():
            customer = Customer.objects.select_for_update(of=("self",)).get(pk=customer_id)
            current = {d.pk for d in current_documents(customer, today=today).values()}
            docs = list(KycDocument.objects.select_for_update().filter(
                customer=customer, status=DocumentStatus.APPROVED, expires_on__lte=horizon,
                expiry_flagged_at__isnull=True))
            now = timezone.now()
            KycDocument.objects.filter(pk__in=[d.pk for d in docs]).update(expiry_flagged_at=now)
            expiring = [d for d in docs if d.pk in current]
            if not expiring:
                continue
            first = min(d.expires_on for d in expiring)
            for doc in expiring:
                _activity(doc, "kyc.document.expiring",
                          f"{KIND_LABELS[doc.kind].capitalize()} expires on {doc.expires_on:%Y-%m-%d}",
                          expires_on=doc.expires_on.isoformat())
                _audit(None, "kyc.document.expiring", doc, expires_on=doc.expires_on.isoformat())
            if customer.kyc_status == "approved":
                from customers.services import customer_transition

                customer_transition(customer=customer, pipeline="kyc", to="pending", by=SYSTEM,
                                    reason=f"documents expire on {first:%Y-%m-%d}")
            event_emit("kyc.expiring", {"customer_id": customer.pk, "document_ids": [d.pk for d in expiring],
                                        "kinds": sorted({d.kind for d in expiring}),
                                        "expires_on": first.isoformat()})
            moved += 1
    return moved


# --- the money gate -----------------------------------------------------------------------------------------------

GATED_OPERATIONS = ("deposit", "withdrawal", "account")


def kyc_gate_check(*, customer, operation: str, amount_usd=None, settings: KycSettings | None = None) -> None:
    """Raise 409 kyc_required when the broker's rules need approved KYC for this operation and the customer's
    is not approved: deposits above the USD threshold, any withdrawal, opening a further trading account.
    `settings`: the rules row already read in the caller's statement (a posting reads it with its row lock)."""
    if customer.kyc_status == "approved":
        return
    settings = settings or KycSettings.current()
    if operation == "deposit":
        needed = settings.gate_deposits_above_usd is not None and amount_usd is not None and (
            amount_usd > settings.gate_deposits_above_usd)
        what = f"Deposits above {settings.gate_deposits_above_usd} USD need"
    elif operation == "withdrawal":
        needed, what = settings.gate_withdrawals, "Withdrawals need"
    elif operation == "account":
        needed, what = settings.gate_further_accounts, "Opening a further trading account needs"
    else:
        raise ValueError(operation)
    if not needed:
        return
    missing = kyc_missing(customer, settings=settings, with_reasons=False)
    raise KycRequired(f"{what} approved KYC (the customer's is {customer.kyc_status}). "
                   + " ".join(missing), fields={"kyc": missing})


# --- file links --------------------------------------------------------------------------------------------------


def file_link_issue(*, document: KycDocument, user) -> str:
    """A signed token for one user and one document, good for KYC_LINK_TTL_SECONDS."""
    return signing.dumps({"d": document.pk, "u": user.pk}, salt=LINK_SALT, compress=False)


class LinkExpired(KycError):
    code = "link_expired"
    status = 410


def file_link_check(*, token: str, document_id: int, user) -> None:
    """Accept the token only for the same document and user, within its lifetime (410 link_expired after)."""
    try:
        data = signing.loads(token, salt=LINK_SALT, max_age=conf.KYC_LINK_TTL_SECONDS)
    except signing.SignatureExpired:
        raise LinkExpired("This download link has expired; ask for a new one.") from None
    except signing.BadSignature:
        raise KycNotFound("No such document.") from None
    if data.get("d") != document_id or data.get("u") != user.pk:
        raise KycNotFound("No such document.")


def file_open(document: KycDocument):
    return kyc_storage().open(document.file_name, "rb")
