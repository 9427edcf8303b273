"""Input and output serializers of the KYC API (customers.kyc.api)."""

from __future__ import annotations

from rest_framework import serializers

from teams.api.fields import RedactedText

from .models import DocumentKind, KycDocument


class DocumentUploadIn(serializers.Serializer):
    file = serializers.FileField(allow_empty_file=False, max_length=255)
    kind = serializers.ChoiceField(choices=DocumentKind.choices)
    issued_on = serializers.DateField(required=False, allow_null=True)
    expires_on = serializers.DateField(required=False, allow_null=True)


class DocumentOut(serializers.ModelSerializer):
    customer_id = serializers.IntegerField(read_only=True)
    reason = RedactedText()
    original_name = RedactedText()
    awaiting_second_approval = serializers.BooleanField(read_only=True)
    uploaded_by = serializers.StringRelatedField(allow_null=True)
    first_approver = serializers.StringRelatedField(allow_null=True)
    second_approver = serializers.StringRelatedField(allow_null=True)
    reviewed_by = serializers.StringRelatedField(allow_null=True)

    class Meta:
        model = KycDocument
        fields = ["id", "customer_id", "kind", "status", "reason", "issued_on", "expires_on", "content_type", "size",
                  "original_name", "uploaded_by", "uploaded_by_customer", "first_approver", "first_approved_at",
                  "second_approver", "awaiting_second_approval", "reviewed_by", "reviewed_at", "provider",
                  "provider_result", "provider_labels", "provider_checked_at", "expiry_flagged_at", "created_at"]


class ClientDocumentOut(serializers.ModelSerializer):
    """What the customer sees of their own documents: status and the reviewer's reason, no reviewer names."""

    class Meta:
        model = KycDocument
        fields = ["id", "kind", "status", "reason", "issued_on", "expires_on", "content_type", "size", "created_at"]


class UploadedOut(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.CharField()
    status = serializers.CharField()
    content_type = serializers.CharField()
    kyc_status = serializers.CharField()


class KycRejectIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)
