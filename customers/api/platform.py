"""Platform administration of registration: groups, promo codes, affiliates, paths and fraud settings."""

from __future__ import annotations

import secrets

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.schema import errors
from teams.permissions import ActionPermissions, require
from teams.services import audit_record

from .. import services
from ..models import Affiliate, CustomerGroup, FraudSettings, PromoCode, RegistrationPath


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
        from rest_framework.throttling import SimpleRateThrottle

        try:
            SimpleRateThrottle.parse_rate(None, value)
        except Exception:
            raise serializers.ValidationError("A rate such as 20/min, 100/hour.") from None
        return value

    def validate_allowed_countries(self, value):
        from ..gates import GateError, validate_country

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


def audited_save(serializer, *, by, action: str | None = None):
    """Save a validated serializer and append the change to the audit log (`<model>.created` / `.updated`, with
    the before and after snapshots). The platform API and the administration pages both save through it."""
    before = type(serializer)(serializer.instance).data if serializer.instance is not None else None
    obj = serializer.save()
    verb = "updated" if before is not None else "created"
    audit_record(by=by, action=action or f"{obj._meta.model_name}.{verb}", obj=obj, before=before,
                 after=serializer.data)
    return obj


def registration_paths():
    """Every registration path, the missing ones created with their defaults."""
    for source in ("organic", "affiliate", "promo", "import"):
        services.registration_path(source)
    return RegistrationPath.objects.select_related("default_group")


class AuditedModelViewSet(mixins.CreateModelMixin, mixins.UpdateModelMixin, mixins.ListModelMixin,
                          mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Plain CRUD for reference data; every change lands in the audit log."""

    permission_classes = [ActionPermissions]
    pagination_class = None

    def perform_create(self, serializer):
        audited_save(serializer, by=self.request.user)

    def perform_update(self, serializer):
        audited_save(serializer, by=self.request.user)


class GroupViewSet(AuditedModelViewSet):
    serializer_class = GroupSerializer
    queryset = CustomerGroup.objects.all()
    action_permissions = {"list": "customers.view", "retrieve": "customers.view", "*": "platform.manage_promo_codes"}


class PromoCodeViewSet(AuditedModelViewSet):
    serializer_class = PromoCodeSerializer
    queryset = PromoCode.objects.select_related("group")
    action_permissions = {"*": "platform.manage_promo_codes"}


class RegistrationPathViewSet(AuditedModelViewSet):
    serializer_class = RegistrationPathSerializer
    action_permissions = {"*": "platform.manage_fraud_rules"}
    http_method_names = ["get", "patch", "put"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no database writes
            return RegistrationPath.objects.none()
        return registration_paths()


class AffiliateViewSet(AuditedModelViewSet):
    """Affiliates; creating one returns its API key once (only its hash is stored)."""

    serializer_class = AffiliateSerializer
    queryset = Affiliate.objects.select_related("group")
    action_permissions = {"*": "platform.manage_fraud_rules"}

    def create(self, request, *args, **kwargs):
        data = AffiliateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = secrets.token_urlsafe(32)
        affiliate = services.affiliate_create(by=request.user, api_key=key, **data.validated_data)
        audit_record(by=request.user, action="affiliate.created", obj=affiliate, before=None,
                     after={"code": affiliate.code})
        return Response({**AffiliateSerializer(affiliate).data, "api_key": key}, status=201)


class FraudSettingsView(APIView):
    permission_classes = [require("platform.manage_fraud_rules")]

    @extend_schema(responses={200: FraudSettingsSerializer, **errors(401, 403)})
    def get(self, request):
        return Response(FraudSettingsSerializer(FraudSettings.current()).data)

    @extend_schema(request=FraudSettingsSerializer, responses={200: FraudSettingsSerializer, **errors(400, 401, 403)})
    def put(self, request):
        data = FraudSettingsSerializer(FraudSettings.current(), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        audited_save(data, by=request.user, action="fraud_settings.updated")
        return Response(data.data)

    patch = put
