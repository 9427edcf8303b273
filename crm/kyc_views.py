"""Workspace pages of KYC (issue #17): the review queue, and the customer page's document forms. The documents,
rules and permissions are customers.kyc's; these pages only parse forms, call its services and render."""

from __future__ import annotations

from datetime import date

from django.contrib import messages
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect
from django.views import View
from django.views.generic import TemplateView

from brokercrm.errors import DomainError
from brokercrm.workspace import WorkspaceMixin
from customers.kyc import selectors as kyc_selectors
from customers.kyc import services as kyc_services
from customers.kyc.models import KycDocument, KycSettings
from customers.models import Customer


class KycQueueView(WorkspaceMixin, TemplateView):
    """Pending documents, oldest first, with approve/reject forms (only for the document right)."""

    template_name = "workspace/kyc_queue.html"
    required_permission = "pipelines.change_kyc_status"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["can_view"] = kyc_selectors.can_view_documents(self.request.user)
        ctx["documents"] = kyc_selectors.review_queue(user=self.request.user)[:200] if ctx["can_view"] else []
        ctx["four_eyes"] = KycSettings.shown().four_eyes
        return ctx


def _date(raw: str | None) -> date | None:
    return date.fromisoformat(raw) if raw else None


class KycUploadView(WorkspaceMixin, View):
    """The customer page's upload form (multipart)."""

    required_permission = "customers.view"

    def post(self, request, pk: int):
        customer = Customer.objects.visible_to(request.user).filter(pk=pk).first()
        if customer is None:
            raise Http404
        try:
            kyc_services.document_upload(customer=customer, by=request.user, file=request.FILES.get("file"),
                                         kind=request.POST.get("kind", ""),
                                         issued_on=_date(request.POST.get("issued_on")),
                                         expires_on=_date(request.POST.get("expires_on")))
            messages.success(request, "Document uploaded for review.")
        except DomainError as error:
            messages.error(request, error.detail)
        except ValueError:
            messages.error(request, "Dates are YYYY-MM-DD.")
        return redirect("customer-detail", pk=pk)


class KycDocumentActionView(WorkspaceMixin, View):
    """Approve or reject (with a reason) from the queue or the customer page; back to where the form was."""

    required_permission = "pipelines.change_kyc_status"
    VERBS = ("approve", "reject")

    def post(self, request, pk: int, verb: str):
        if verb not in self.VERBS:
            return HttpResponseBadRequest("Unknown action: documents are approved or rejected.")
        try:
            document = kyc_selectors.document_get(user=request.user, document_id=pk)
        except KycDocument.DoesNotExist:
            raise Http404 from None
        try:
            if verb == "approve":
                document = kyc_services.document_approve(document=document, by=request.user)
                messages.success(request, f"Document #{pk} " + ("approved (first of two approvals)."
                                                                 if document.awaiting_second_approval
                                                                 else "approved."))
            else:
                kyc_services.document_reject(document=document, by=request.user,
                                             reason=request.POST.get("reason", ""))
                messages.success(request, f"Document #{pk} rejected.")
        except DomainError as error:
            messages.error(request, f"#{pk}: {error.detail}")
        target = request.POST.get("next", "")
        if target.startswith("/") and not target.startswith("//"):
            return redirect(target)
        return redirect("kyc-queue")


class KycDocumentFilePageView(WorkspaceMixin, View):
    """Opens the file through a fresh short-lived link (the API's signed download), never a stored URL."""

    required_permission = "pipelines.change_kyc_status"

    def get(self, request, pk: int):
        try:
            document = kyc_selectors.document_get(user=request.user, document_id=pk)
        except KycDocument.DoesNotExist:
            raise Http404 from None
        token = kyc_services.file_link_issue(document=document, user=request.user)
        return redirect(f"/api/crm/documents/{document.pk}/download?token={token}")
