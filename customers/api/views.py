"""The customers' own endpoints (registration, autologin, presence heartbeat) and the staff's customer viewset
(mounted by crm at /api/crm/customers, with crm's notes and bulk assignment added)."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from brokercrm.api.pagination import KeysetPagination
from brokercrm.api.schema import errors, page_of
from brokercrm.clientip import ClientAddressThrottleMixin
from teams.permissions import ActionPermissions

from .. import selectors, services
from ..auth import CustomerSessionAuthentication, IsCustomer, customer_login
from ..exports import customer_export_response, export_allowed
from ..models import Activity, Source
from ..presence import presence_online, presence_touch
from ..scoping import ScopedViewMixin
from .serializers import (
    REGISTRATION_SOURCES,
    ActivityOut,
    CustomerOut,
    CustomerPatch,
    RegisterIn,
    RegisterOut,
    TransitionIn,
)


class RegistrationThrottle(ClientAddressThrottleMixin, SimpleRateThrottle):
    """Per client address and per registration path, at the path's configured rate (429 with Retry-After)."""

    scope = "registration"

    def get_cache_key(self, request, view):
        return f"throttle:registration:{getattr(view, 'source', 'organic')}:{self.get_ident(request)}"

    def allow_request(self, request, view):
        source = request.data.get("source") if hasattr(request, "data") and isinstance(request.data, dict) else None
        view.source = source if source in REGISTRATION_SOURCES else "organic"
        self.rate = services.registration_path(view.source).rate_limit
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)


class RegisterView(APIView):
    """Register a customer (organic, affiliate with X-Api-Key, promo). The response echoes only the caller's
    own data; errors never echo an email or phone. Whether the registration was flagged as a possible duplicate
    stays with staff (the customer's `possible_duplicate_of`): telling the registrant would let anyone test whether
    a phone or email belongs to a customer."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [RegistrationThrottle]

    @extend_schema(request=RegisterIn, responses={201: RegisterOut, **errors(400, 403, 409, 413, 429)})
    def post(self, request):
        data = RegisterIn(data=request.data)
        data.is_valid(raise_exception=True)
        values = data.validated_data
        affiliate = None
        if values["source"] == Source.AFFILIATE:
            affiliate = services.affiliate_authenticate(api_key=request.headers.get("X-Api-Key"))
            if affiliate is None or (values.get("affiliate_id") and values["affiliate_id"] != affiliate.code):
                raise services.InvalidAffiliate("A valid affiliate API key (X-Api-Key) is required.")
        customer, extras = services.customer_register(data=values, source=values["source"], affiliate=affiliate)
        body = {
            "id": customer.pk, "email": customer.email, "group": customer.group.name if customer.group else None,
            "source": customer.source, "country": customer.country,
            "account_login": customer.accounts.values_list("login", flat=True).first(),
        }
        if "autologin_token" in extras:
            body["autologin_url"] = request.build_absolute_uri(f"/api/customer/autologin/{extras['autologin_token']}")
            body["autologin_expires_at"] = extras["autologin_expires_at"]
        return Response(body, status=201)


class AutologinView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(responses={302: OpenApiResponse(description="Signed in; redirect to the client area"),
                              **errors(410)})
    def get(self, request, token: str):
        customer = services.autologin_redeem(token=token)
        customer_login(request._request, customer)
        presence_touch(customer_id=customer.pk)
        return HttpResponseRedirect("/client/")


class HeartbeatView(APIView):
    """Marks the signed-in customer online for 300 seconds."""

    authentication_classes = [CustomerSessionAuthentication]
    permission_classes = [IsCustomer]

    @extend_schema(request=None, responses={204: None, **errors(401, 403)})
    def post(self, request):
        presence_touch(customer_id=request.user.pk)
        return Response(status=204)


def activity_page_response(request, queryset):
    """A keyset page of activity entries, newest first (`{"results", "next"}`)."""
    rows, next_url = KeysetPagination().paginate(queryset, request)
    return Response({"results": ActivityOut(rows, many=True, context={"request": request}).data, "next": next_url})


class CustomerViewSet(ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Customers in the caller's view scope, PII per role. Out of scope is 404, like unknown."""

    serializer_class = CustomerOut
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "customers.view", "partial_update": "customers.edit",
                          "export": "reports.export_customers", "transitions": "customers.view",
                          "activity": "customers.view"}
    filterset_class = None

    def get_queryset(self):
        return selectors.customer_list(
            user=self.request.user, filters=self.request.query_params, request=self.request
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "online": getattr(self, "_online", None)}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        self._online = presence_online(c.pk for c in page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=CustomerPatch, responses={200: CustomerOut, **errors(400, 401, 403, 404)})
    def partial_update(self, request, pk=None):
        data = CustomerPatch(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        customer = services.customer_update(customer=self.get_object(), by=request.user, **data.validated_data)
        return Response(self.get_serializer(customer).data)

    @extend_schema(responses={(200, "text/csv"): str, **errors(401, 403)},
                   parameters=[OpenApiParameter("search", str)])
    @action(detail=False, methods=["get"])
    def export(self, request):
        """CSV of the visible customers (filters apply). Needs can_export_pii: the file carries PII."""
        if not export_allowed(request.user):
            raise services.ExportNotAllowed("Exporting customers needs the can_export_pii right.")
        return customer_export_response(self.get_queryset(), request.user)

    @extend_schema(request=TransitionIn, responses={200: CustomerOut, **errors(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def transitions(self, request, pk=None):
        data = TransitionIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = services.customer_transition(customer=self.get_object(), by=request.user,
                                                **data.validated_data)
        return Response(CustomerOut(selectors.customer_get(user=request.user, customer_id=customer.pk),
                                    context={"request": request}).data)

    @extend_schema(responses={200: page_of(ActivityOut, "ActivityPage"), **errors(400, 401, 403, 404)})
    @action(detail=True, methods=["get"])
    def activity(self, request, pk=None):
        customer = self.get_object()
        return activity_page_response(request, self.scoped(Activity).filter(customer=customer)
                                      .select_related("actor", "customer"))
