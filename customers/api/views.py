"""The customers' own endpoints: registration, autologin, presence heartbeat."""

from __future__ import annotations

from django.http import HttpResponseRedirect
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import SimpleRateThrottle
from rest_framework.views import APIView

from brokercrm.api.schema import errors
from brokercrm.clientip import ClientAddressThrottleMixin

from .. import services
from ..auth import CustomerSessionAuthentication, IsCustomer, customer_login
from ..models import Source
from ..presence import presence_touch

REGISTRATION_SOURCES = [Source.ORGANIC, Source.AFFILIATE, Source.PROMO]


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
