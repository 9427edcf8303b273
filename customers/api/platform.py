"""Platform administration of registration: groups, promo codes, affiliates, paths and fraud settings."""

from __future__ import annotations

import secrets

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.schema import errors
from teams.permissions import ActionPermissions, require
from teams.services import audit_record

from .. import services
from ..models import Affiliate, CustomerGroup, FraudSettings, PromoCode, RegistrationPath
from .serializers import (
    AffiliateSerializer,
    FraudSettingsSerializer,
    GroupSerializer,
    PromoCodeSerializer,
    RegistrationPathSerializer,
)


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
        current = services.fraud_settings_update(values=data.validated_data, by=request.user)
        return Response(FraudSettingsSerializer(current).data)

    patch = put
