from __future__ import annotations

from rest_framework import serializers

from brokercrm.api.serializers import FieldsBuiltOnce
from teams.api.fields import RedactedText

from ..models import ApprovalRule, FxRate, PaymentRoute, Transaction, TxType
from ..money import AmountField
from ..services import ACCOUNT_CURRENCIES


class TransactionIn(FieldsBuiltOnce, serializers.Serializer):
    """A new transaction: its type, amount and currency, on a customer's account (`account_login`) or their first
    (`customer_id`); an `idempotency_key` makes a repeat return the first one."""

    customer_id = serializers.IntegerField(required=False)
    account_login = serializers.IntegerField(required=False)
    type = serializers.ChoiceField(choices=TxType.choices)
    amount = AmountField()
    currency = serializers.CharField(max_length=3, min_length=3)
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    idempotency_key = serializers.CharField(max_length=100, required=False, allow_null=True)

    def validate(self, attrs):
        if attrs.get("customer_id") is None and attrs.get("account_login") is None:
            raise serializers.ValidationError({"customer_id": ["customer_id or account_login is required."]})
        return attrs


class TransactionOut(FieldsBuiltOnce, serializers.ModelSerializer):
    """A transaction: its state in its lifecycle, who made, approved or rejected it, and its payout if any."""

    account_login = serializers.IntegerField(source="account.login", read_only=True)
    amount = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    amount_usd = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    created_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    approved_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    rejected_by = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    requested_amount = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True,
                                                read_only=True, allow_null=True)
    payout = serializers.SerializerMethodField()

    def get_payout(self, tx) -> dict | None:
        """The withdrawal's payout: method, status, reference, reason (null for other transactions)."""
        from ..models import Payout

        try:
            payout = tx.payout
        except Payout.DoesNotExist:
            return None
        return {"method": payout.method, "status": payout.status, "reference": payout.reference,
                "reason": payout.reason, "completed_at": payout.completed_at}
    comment = RedactedText()
    reason = RedactedText()

    class Meta:
        model = Transaction
        fields = ["id", "customer", "account_login", "type", "amount", "currency", "amount_usd", "status",
                  "required_role", "comment", "reason", "created_by", "approved_by", "idempotency_key", "provider",
                  "created_at", "completed_at", "reverses", "requested_by_customer",
                  "requested_amount", "amount_mismatch", "related", "payout",
                  "rejected_by"]


class PayoutIn(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=["paid", "failed"], default="paid")
    reference = serializers.CharField(max_length=200, required=False, allow_blank=True)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True)
    provider = serializers.ChoiceField(choices=["bridgerpay"], required=False)
    psp = serializers.CharField(max_length=100, required=False)
    payout_method_type = serializers.CharField(max_length=40, required=False)
    metadata = serializers.DictField(required=False)

    def validate(self, attrs):
        if attrs.get("provider"):
            missing = {k: ["Required with a provider."] for k in ("psp", "payout_method_type") if not attrs.get(k)}
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class RejectIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class ApprovalRuleSerializer(serializers.ModelSerializer):
    min_amount_usd = AmountField()
    max_amount_usd = AmountField(allow_null=True)
    required_role = serializers.ChoiceField(choices=["agent", "manager", "compliance"])

    class Meta:
        model = ApprovalRule
        fields = ["min_amount_usd", "max_amount_usd", "required_role"]


class FxRateSerializer(serializers.ModelSerializer):
    """A rate and its freshness: `updated_at` is when it was last set (by hand or from the source), `as_of` the
    source's reference date, `stale` whether transactions needing it are refused (older than FX_RATE_MAX_AGE_HOURS)."""

    usd_rate = serializers.DecimalField(max_digits=18, decimal_places=8, coerce_to_string=True)
    stale = serializers.SerializerMethodField()

    class Meta:
        model = FxRate
        fields = ["currency", "usd_rate", "updated_at", "source", "as_of", "stale"]
        read_only_fields = ["updated_at", "source", "as_of"]

    def get_stale(self, obj) -> bool:
        from ..selectors import fx_rate_is_stale

        return fx_rate_is_stale(obj)


class CancelIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReverseIn(serializers.Serializer):
    reason = serializers.CharField(max_length=500)


class WithdrawalIn(serializers.Serializer):
    amount = serializers.CharField(max_length=32)
    currency = serializers.CharField(max_length=3, min_length=3)


class WithdrawalOut(serializers.Serializer):
    transaction_id = serializers.IntegerField()
    status = serializers.CharField()


class CustomerTransactionOut(serializers.ModelSerializer):
    """What the customer sees of their own money movements (no staff names, no internal comments)."""

    amount = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    account_login = serializers.IntegerField(source="account.login", read_only=True)
    status = serializers.CharField(read_only=True)  # TxStatus; plain here so the schema keeps one status enum
    cancellable = serializers.SerializerMethodField()

    class Meta:
        model = Transaction
        fields = ["id", "type", "amount", "currency", "status", "account_login", "created_at", "completed_at",
                  "reverses", "requested_by_customer", "cancellable"]

    def get_cancellable(self, obj) -> bool:
        return obj.requested_by_customer and obj.type == "withdrawal" and obj.status == "pending_approval"


class PaymentRouteSerializer(serializers.ModelSerializer):
    min_amount = AmountField(allow_null=True, required=False)
    max_amount = AmountField(allow_null=True, required=False)

    class Meta:
        model = PaymentRoute
        fields = ["id", "country", "currency", "min_amount", "max_amount", "provider", "priority", "is_active"]



class DepositIn(serializers.Serializer):
    amount = AmountField()
    currency = serializers.CharField(max_length=3, min_length=3)


class DepositOut(serializers.Serializer):
    transaction_id = serializers.IntegerField()
    provider = serializers.CharField()
    redirect_url = serializers.CharField()
    embed = serializers.DictField(help_text="How to embed the cashier: BridgerPay `script_src`, `cashier_key`, "
                                            "`cashier_token`; Praxis `iframe_src`; empty for the sandbox.")


class AccountOpenOut(serializers.Serializer):
    login = serializers.IntegerField()
    currency = serializers.CharField()


class AccountOpenIn(serializers.Serializer):
    currency = serializers.ChoiceField(choices=list(ACCOUNT_CURRENCIES))
