from __future__ import annotations

from rest_framework import serializers

from ..models import ApprovalRule, FxRate, PaymentRoute, Transaction, TxType


class TransactionIn(serializers.Serializer):
    customer_id = serializers.IntegerField(required=False)
    account_login = serializers.IntegerField(required=False)
    type = serializers.ChoiceField(choices=TxType.choices)
    amount = serializers.CharField(max_length=32)
    currency = serializers.CharField(max_length=3, min_length=3)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    idempotency_key = serializers.CharField(max_length=100, required=False, allow_null=True)

    def validate(self, attrs):
        if attrs.get("customer_id") is None and attrs.get("account_login") is None:
            raise serializers.ValidationError({"customer_id": ["customer_id or account_login is required."]})
        return attrs


class TransactionOut(serializers.ModelSerializer):
    account_login = serializers.IntegerField(source="account.login", read_only=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    amount_usd = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    created_by = serializers.SlugRelatedField(slug_field="email", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="email", read_only=True)
    rejected_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)

    class Meta:
        model = Transaction
        fields = ["id", "customer", "account_login", "type", "amount", "currency", "amount_usd", "status",
                  "required_role", "comment", "reason", "created_by", "approved_by", "idempotency_key", "provider",
                  "created_at", "completed_at", "rejected_by"]


class RejectIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ApprovalRuleSerializer(serializers.ModelSerializer):
    min_amount_usd = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    max_amount_usd = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True, allow_null=True)
    required_role = serializers.ChoiceField(choices=["agent", "manager", "compliance"])

    class Meta:
        model = ApprovalRule
        fields = ["min_amount_usd", "max_amount_usd", "required_role"]


class FxRateSerializer(serializers.ModelSerializer):
    usd_rate = serializers.DecimalField(max_digits=18, decimal_places=8, coerce_to_string=True)

    class Meta:
        model = FxRate
        fields = ["currency", "usd_rate", "updated_at"]
        read_only_fields = ["updated_at"]


class PaymentRouteSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentRoute
        fields = ["id", "country", "currency", "min_amount", "max_amount", "provider", "priority", "is_active"]
