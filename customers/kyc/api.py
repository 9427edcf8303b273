"""KYC endpoints: staff (`/api/crm/…`), the customer's own (`/api/customer/documents`), the provider webhook.

Thin: parse → call a service → render. Document lookups start from `KycDocument.objects.visible_to(user)`, so a
document outside the caller's scope, or any document for a caller without the document right, is a 404."""

from __future__ import annotations

import mimetypes

from django.http import FileResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.parsers import MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.schema import errors
from teams.services import audit_record

from ..auth import CustomerSessionAuthentication, IsCustomer
from ..models import Customer
from . import conf, selectors, services
from .filetypes import EXTENSIONS
from .models import KycDocument
from .serializers import ClientDocumentOut, DocumentOut, DocumentUploadIn, KycRejectIn, UploadedOut


def _uploaded(document: KycDocument) -> Response:
    """The uploader learns only that it was stored (an agent with masked PII never sees documents)."""
    kyc_status = selectors.kyc_status_of(customer_id=document.customer_id)
    return Response({"id": document.pk, "kind": document.kind, "status": document.status,
                     "content_type": document.content_type, "kyc_status": kyc_status}, status=201)


def _customer_for(user, pk: int) -> Customer:
    customer = Customer.objects.visible_to(user).filter(pk=pk).first()
    if customer is None:
        raise services.KycNotFound("No such customer.")
    return customer


DocumentList = inline_serializer("KycDocumentList", {"results": DocumentOut(many=True),
                                                     "next": serializers.CharField(allow_null=True)})


class CustomerDocumentsView(APIView):
    """`GET /api/crm/customers/<id>/documents` (the document right: pipelines.change_kyc_status with contacts in
    full) and `POST` (multipart upload: customers.edit in edit scope, or the document right)."""

    parser_classes = [MultiPartParser]

    @extend_schema(responses={200: DocumentList, **errors(401, 403, 404)})
    def get(self, request, pk: int):
        customer = _customer_for(request.user, pk)
        if not selectors.can_view_documents(request.user):
            raise services.KycPermissionDenied(
                "Documents need pipelines.change_kyc_status and full email and phone visibility.")
        docs = selectors.document_list(user=request.user, customer=customer)
        return Response({"results": DocumentOut(docs, many=True, context={"request": request}).data, "next": None})

    @extend_schema(request={"multipart/form-data": DocumentUploadIn},
                   responses={201: UploadedOut, **errors(400, 401, 403, 404, 413)})
    def post(self, request, pk: int):
        customer = _customer_for(request.user, pk)
        data = DocumentUploadIn(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.document_upload(customer=customer, by=request.user, **data.validated_data)
        return _uploaded(document)


class DocumentReviewView(APIView):
    verb = "approve"

    def _document(self, request, pk: int) -> KycDocument:
        try:
            return selectors.document_get(user=request.user, document_id=pk)
        except KycDocument.DoesNotExist:
            raise services.KycNotFound("No such document.") from None

    def post(self, request, pk: int):
        document = self._document(request, pk)
        if self.verb == "approve":
            document = services.document_approve(document=document, by=request.user)
        else:
            data = KycRejectIn(data=request.data)
            data.is_valid(raise_exception=True)
            document = services.document_reject(document=document, by=request.user, **data.validated_data)
        return Response(DocumentOut(document, context={"request": request}).data)


class DocumentApproveView(DocumentReviewView):
    """Approve (four-eyes when the broker turned it on: the first approval waits for a different second one)."""

    verb = "approve"

    @extend_schema(request=None, responses={200: DocumentOut, **errors(401, 403, 404, 409)})
    def post(self, request, pk: int):
        return super().post(request, pk)


class DocumentRejectView(DocumentReviewView):
    """Reject with a reason (shown to the customer)."""

    verb = "reject"

    @extend_schema(request=KycRejectIn,
                   responses={200: DocumentOut, **errors(400, 401, 403, 404, 409)})
    def post(self, request, pk: int):
        return super().post(request, pk)


class DocumentFileView(APIView):
    """A short-lived link to the document's file, for this user and this document only."""

    @extend_schema(responses={200: inline_serializer("KycFileLink", {"url": serializers.CharField(),
                                                                     "expires_in": serializers.IntegerField()}),
                              **errors(401, 403, 404)})
    def get(self, request, pk: int):
        try:
            document = selectors.document_get(user=request.user, document_id=pk)
        except KycDocument.DoesNotExist:
            raise services.KycNotFound("No such document.") from None
        token = services.file_link_issue(document=document, user=request.user)
        return Response({"url": f"/api/crm/documents/{document.pk}/download?token={token}",
                         "expires_in": conf.KYC_LINK_TTL_SECONDS})


class DocumentDownloadView(APIView):
    """Streams the file behind a link from DocumentFileView: the same signed-in user, within the link's lifetime,
    still allowed to see the document. Always an attachment, never sniffed, never cached."""

    @extend_schema(responses={200: OpenApiResponse(description="The file"), **errors(401, 403, 404, 410)})
    def get(self, request, pk: int):
        try:
            document = selectors.document_get(user=request.user, document_id=pk)
        except KycDocument.DoesNotExist:
            raise services.KycNotFound("No such document.") from None
        services.file_link_check(token=request.query_params.get("token", ""), document_id=document.pk,
                                 user=request.user)

        audit_record(by=request.user, action="kyc.document.downloaded", obj=document, before=None,
                     after={"customer": document.customer_id, "kind": document.kind})
        name = f"{document.kind}-{document.pk}.{EXTENSIONS.get(document.content_type, 'bin')}"
        response = FileResponse(services.file_open(document), as_attachment=True, filename=name,
                                content_type=document.content_type or mimetypes.types_map[".bin"])
        response["X-Content-Type-Options"] = "nosniff"
        response["Cache-Control"] = "private, no-store"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


class ClientDocumentsView(APIView):
    """The signed-in customer's documents: `GET` (status, reasons) and `POST` (multipart upload)."""

    authentication_classes = [CustomerSessionAuthentication]
    permission_classes = [IsCustomer]
    parser_classes = [MultiPartParser]

    @extend_schema(responses={200: inline_serializer("ClientKycDocuments", {
        "results": ClientDocumentOut(many=True), "kyc_status": serializers.CharField(),
        "missing": serializers.ListField(child=serializers.CharField()),
        "gated": serializers.ListField(child=serializers.CharField())}), **errors(401, 403)})
    def get(self, request):
        customer = request.user.customer
        ctx = selectors.client_kyc_context(customer=customer)
        return Response({"results": ClientDocumentOut(ctx["kyc_documents"], many=True).data,
                         "kyc_status": customer.kyc_status, "missing": ctx["kyc_missing"],
                         "gated": ctx["kyc_gates"]})

    @extend_schema(request={"multipart/form-data": DocumentUploadIn},
                   responses={201: UploadedOut, **errors(400, 401, 403, 413)})
    def post(self, request):
        data = DocumentUploadIn(data=request.data)
        data.is_valid(raise_exception=True)
        document = services.document_upload(customer=request.user.customer, by_customer=True,
                                            **data.validated_data)
        return _uploaded(document)


class SumsubTokenView(APIView):
    """An access token for Sumsub's web SDK (the applicant is created on first use); 503 when Sumsub is off."""

    authentication_classes = [CustomerSessionAuthentication]
    permission_classes = [IsCustomer]

    @extend_schema(request=None, responses={200: inline_serializer("SumsubToken", {
        "token": serializers.CharField(), "user_id": serializers.CharField()}), **errors(401, 403, 503)})
    def post(self, request):
        from . import sumsub

        token, user_id = sumsub.sdk_token_for(customer=request.user.customer)
        return Response({"token": token, "user_id": user_id})


class SumsubWebhookView(APIView):
    """Sumsub's webhook: the body's HMAC digest (X-Payload-Digest, X-Payload-Digest-Alg) is checked with
    SUMSUB_WEBHOOK_SECRET (401 invalid_signature otherwise); results go to the review queue."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    parser_classes: list = []

    @extend_schema(request=None, responses={200: OpenApiResponse(description="Accepted"), **errors(400, 401)})
    def post(self, request):
        from . import sumsub

        outcome = sumsub.webhook_receive(headers=request.headers, body=request.body)
        return Response({"status": outcome})
