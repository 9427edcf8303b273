"""Platform administration of registration: groups, promo codes, affiliates, paths and fraud settings.

Thin views: a serializer parses, a service of customers.services writes (and audits), the serializer renders."""

from __future__ import annotations

import secrets
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.schema import errors
from teams.permissions import ActionPermissions, require

from .. import selectors, services
from ..models import Affiliate, CustomerGroup, FraudSettings
from .serializers import (
    AffiliateSerializer,
    FraudSettingsSerializer,
    GroupSerializer,
    PromoCodeSerializer,
    RegistrationPathSerializer,
)


class ReferenceDataViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Reference data: list and retrieve; create/update parse with the serializer and call the subclass's
    `service_create(by=, **values)` / `service_update(obj, by=, **values)` (audited in customers.services)."""

    permission_classes = [ActionPermissions]
    pagination_class = None

    def service_create(self, *, by, **values: Any) -> Any:
        raise NotImplementedError

    def service_update(self, obj: Any, *, by, **values: Any) -> Any:
        raise NotImplementedError

    def create(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        obj = self.service_create(by=request.user, **data.validated_data)
        return Response(self.get_serializer(obj).data, status=201)

    def update(self, request, *args, partial: bool = False, **kwargs):
        data = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        obj = self.service_update(data.instance, by=request.user, **data.validated_data)
        return Response(self.get_serializer(obj).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)


class GroupViewSet(ReferenceDataViewSet):
    serializer_class = GroupSerializer
    queryset = CustomerGroup.objects.all()
    action_permissions = {"list": "customers.view", "retrieve": "customers.view", "*": "platform.manage_promo_codes"}

    def service_create(self, *, by, **values):
        return services.group_create(by=by, **values)

    def service_update(self, obj, *, by, **values):
        return services.group_update(group=obj, by=by, **values)


class PromoCodeViewSet(ReferenceDataViewSet):
    serializer_class = PromoCodeSerializer
    queryset = selectors.promo_code_list()
    action_permissions = {"*": "platform.manage_promo_codes"}

    def service_create(self, *, by, **values):
        return services.promo_code_create(by=by, **values)

    def service_update(self, obj, *, by, **values):
        return services.promo_code_update(promo_code=obj, by=by, **values)


class RegistrationPathViewSet(ReferenceDataViewSet):
    """The four paths (rows made by a data migration): list/retrieve read only; PATCH/PUT change their settings."""

    serializer_class = RegistrationPathSerializer
    queryset = selectors.registration_path_list()
    action_permissions = {"*": "platform.manage_fraud_rules"}
    http_method_names = ["get", "patch", "put"]

    def service_update(self, obj, *, by, **values):
        return services.registration_path_update(path=obj, by=by, **values)


class AffiliateViewSet(ReferenceDataViewSet):
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

    def service_update(self, obj, *, by, **values):
        return services.affiliate_update(affiliate=obj, by=by, **values)


class FraudSettingsView(APIView):
    permission_classes = [require("platform.manage_fraud_rules")]

    @extend_schema(responses={200: FraudSettingsSerializer, **errors(401, 403)})
    def get(self, request):
        return Response(FraudSettingsSerializer(selectors.fraud_settings_get()).data)

    @extend_schema(request=FraudSettingsSerializer, responses={200: FraudSettingsSerializer, **errors(400, 401, 403)})
    def put(self, request):
        data = FraudSettingsSerializer(FraudSettings.current(), data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        current = services.fraud_settings_update(values=data.validated_data, by=request.user)
        return Response(FraudSettingsSerializer(current).data)

    patch = put
