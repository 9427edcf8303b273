"""Serializers of the customers' API: customer output (every email and phone passes through teams.pii for the viewer
in `context["request"]`), registration, pipeline transitions, activity, and the platform's registration settings."""

from __future__ import annotations

from rest_framework import serializers
from rest_framework.throttling import SimpleRateThrottle

from teams import pii
from teams.api.fields import RedactedJSON, RedactedText

from ..gates import GateError, validate_country
from ..models import (
    Activity,
    Affiliate,
    Customer,
    CustomerGroup,
    FraudSettings,
    PromoCode,
    RegistrationPath,
    Source,
)
from ..pipelines import PIPELINES
from ..presence import presence_online

REGISTRATION_SOURCES = [Source.ORGANIC, Source.AFFILIATE, Source.PROMO]


class AccountBrief(serializers.Serializer):
    login = serializers.IntegerField()
    currency = serializers.CharField()
    balance = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)
    credit = serializers.DecimalField(max_digits=18, decimal_places=2, coerce_to_string=True)


class CustomerOut(serializers.ModelSerializer):
    email = serializers.SerializerMethodField()
    phone = serializers.SerializerMethodField()
    assigned_to = serializers.SerializerMethodField()
    team = serializers.SerializerMethodField()
    group = serializers.SlugRelatedField(slug_field="name", read_only=True)
    online = serializers.SerializerMethodField()
    accounts = AccountBrief(many=True, read_only=True)
    retention = serializers.CharField(source="retention_class", read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id", "first_name", "last_name", "email", "phone", "country", "locale", "source", "group",
            "assigned_to", "team", "sales_status", "kyc_status", "finance_status", "retention", "online",
            "accounts", "affiliate_lead_id", "marketing_consent", "possible_duplicate_of", "duplicate_score",
            "registered_at", "last_login_at", "last_activity_at", "last_deposit_at",
        ]
        read_only_fields = fields

    def _viewer(self):
        request = self.context.get("request")
        return request.user if request else None

    def get_email(self, obj) -> str | None:
        return pii.show_email(obj.email, self._viewer())

    def get_phone(self, obj) -> str | None:
        return pii.show_phone(obj.phone, self._viewer())

    def get_assigned_to(self, obj) -> dict | None:
        agent = obj.assigned_to
        return {"id": agent.id, "name": agent.get_full_name() or agent.email} if agent else None

    def get_team(self, obj) -> dict | None:
        return {"id": obj.team.id, "name": obj.team.name} if obj.team else None

    def get_online(self, obj) -> bool:
        online = self.context.get("online")
        if online is None:
            online = presence_online([obj.pk])
        return obj.pk in online


class CustomerPatch(serializers.Serializer):
    first_name = serializers.CharField(max_length=80, required=False)
    last_name = serializers.CharField(max_length=80, required=False)
    locale = serializers.CharField(max_length=16, required=False)
    marketing_consent = serializers.BooleanField(required=False)
    assigned_to = serializers.IntegerField(required=False, allow_null=True)


class GroupSerializer(serializers.ModelSerializer):
    class Meta:
        model = CustomerGroup
        fields = ["id", "name", "description"]


class PromoCodeSerializer(serializers.ModelSerializer):
    group = serializers.SlugRelatedField(slug_field="name", queryset=CustomerGroup.objects.all())

    class Meta:
        model = PromoCode
        fields = ["id", "code", "group", "valid_from", "valid_until", "max_uses", "uses", "is_active"]
        read_only_fields = ["uses"]

    def validate_code(self, value):
        qs = PromoCode.objects.filter(code__iexact=value)
        if self.instance:
            qs = qs.exclude(pk=self.instance.pk)
        if qs.exists():
            raise serializers.ValidationError("A promo code with this code exists.")
        return value

    def validate(self, attrs):
        start = attrs.get("valid_from", getattr(self.instance, "valid_from", None))
        end = attrs.get("valid_until", getattr(self.instance, "valid_until", None))
        if start and end and end <= start:
            raise serializers.ValidationError({"valid_until": ["Must be after valid_from."]})
        return attrs


class RegistrationPathSerializer(serializers.ModelSerializer):
    default_group = serializers.SlugRelatedField(slug_field="name", queryset=CustomerGroup.objects.all(),
                                                 allow_null=True, required=False)
    allowed_countries = serializers.ListField(child=serializers.CharField(min_length=2, max_length=2), required=False)

    class Meta:
        model = RegistrationPath
        fields = ["id", "source", "enabled", "default_group", "check_disposable", "check_duplicates",
                  "allowed_countries", "rate_limit"]
        read_only_fields = ["source"]

    def validate_rate_limit(self, value):
        try:
            SimpleRateThrottle.parse_rate(None, value)
        except Exception:
            raise serializers.ValidationError("A rate such as 20/min, 100/hour.") from None
        return value

    def validate_allowed_countries(self, value):
        try:
            return [validate_country(c) for c in value]
        except GateError:
            raise serializers.ValidationError("ISO 3166-1 alpha-2 codes.") from None


class FraudSettingsSerializer(serializers.ModelSerializer):
    blocked_domains = serializers.ListField(child=serializers.CharField(max_length=253), required=False)
    allowed_domains = serializers.ListField(child=serializers.CharField(max_length=253), required=False)

    class Meta:
        model = FraudSettings
        exclude = ["id"]
        read_only_fields = ["updated_at"]

    def validate(self, attrs):
        reject = attrs.get("reject_threshold", getattr(self.instance, "reject_threshold", 4))
        flag = attrs.get("flag_threshold", getattr(self.instance, "flag_threshold", 3))
        if flag > reject:
            raise serializers.ValidationError({"flag_threshold": ["Must not exceed reject_threshold."]})
        for key in ("blocked_domains", "allowed_domains"):
            if key in attrs:
                attrs[key] = sorted({d.strip().lower().lstrip("@") for d in attrs[key] if d.strip()})
        return attrs


class AffiliateSerializer(serializers.ModelSerializer):
    group = serializers.SlugRelatedField(slug_field="name", queryset=CustomerGroup.objects.all(), allow_null=True,
                                         required=False)

    class Meta:
        model = Affiliate
        fields = ["id", "code", "name", "group", "is_active", "created_at"]
        read_only_fields = ["created_at"]


class RegisterIn(serializers.Serializer):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=128, trim_whitespace=False)
    first_name = serializers.CharField(max_length=80)
    last_name = serializers.CharField(max_length=80)
    phone = serializers.CharField(max_length=32)
    country = serializers.CharField(max_length=2, min_length=2)
    source = serializers.ChoiceField(choices=REGISTRATION_SOURCES)
    promo_code = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True)
    affiliate_id = serializers.CharField(max_length=40, required=False, allow_null=True, allow_blank=True)
    affiliate_lead_id = serializers.CharField(max_length=100, required=False, allow_null=True, allow_blank=True)
    locale = serializers.CharField(max_length=16, required=False, allow_blank=True)
    currency = serializers.ChoiceField(choices=["USD", "EUR", "GBP"], required=False)
    marketing_consent = serializers.BooleanField(required=False, default=False)


class RegisterOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField()
    group = serializers.CharField(allow_null=True)
    source = serializers.CharField()
    country = serializers.CharField()
    account_login = serializers.IntegerField()
    autologin_url = serializers.CharField(required=False)
    autologin_expires_at = serializers.DateTimeField(required=False)


class TransitionIn(serializers.Serializer):
    pipeline = serializers.ChoiceField(choices=list(PIPELINES))
    to = serializers.CharField(max_length=20)
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ActivityOut(serializers.ModelSerializer):
    actor = serializers.SerializerMethodField()
    summary = RedactedText()
    data = RedactedJSON()

    class Meta:
        model = Activity
        fields = ["id", "customer", "verb", "summary", "data", "actor", "created_at"]

    def get_actor(self, obj) -> str | None:
        return (obj.actor.get_full_name() or obj.actor.email) if obj.actor_id else None
