"""Staff token auth (`/api/auth/token`, with the 2FA check; revoke) and a staff member's own API tokens: list them,
revoke one (`/api/auth/tokens`). Mounted by brokercrm/urls.py through `teams.api.auth_urls`."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from brokercrm.api.schema import ERRORS, errors
from brokercrm.clientip import ClientAddressThrottleMixin
from brokercrm.errors import NotFound, RateLimited

from ..models import ApiToken
from ..permissions import IsStaffUser
from ..services import InvalidCredentials
from ..tokens import token_issue, token_list, token_revoke, tokens_revoke
from .serializers import ApiTokenOut, TokenLoginIn


class TokenListView(APIView):
    """The caller's API tokens that have not expired (the key itself is never shown again)."""

    permission_classes = [IsStaffUser]

    @extend_schema(responses={200: ApiTokenOut(many=True), **errors(401)})
    def get(self, request):
        tokens = token_list(user=request.user)
        return Response(ApiTokenOut(tokens, many=True, context={"auth": request.auth}).data)


class TokenDetailView(APIView):
    """Revoke one of the caller's own tokens; another user's token is 404."""

    permission_classes = [IsStaffUser]

    @extend_schema(request=None, responses={204: None, **errors(401, 404)})
    def delete(self, request, id: int):
        token = ApiToken.objects.filter(pk=id, user=request.user).first()
        if token is None:
            raise NotFound("Not found.")
        token_revoke(token=token, by=request.user)
        return Response(status=204)


class AuthThrottle(ClientAddressThrottleMixin, AnonRateThrottle):
    scope = "auth"


class TokenView(APIView):
    """Exchange staff email and password for an API token; DELETE revokes the caller's token."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [AuthThrottle]

    @extend_schema(
        request=TokenLoginIn,
        responses={200: inline_serializer("TokenOut", {"token": serializers.CharField()}), 400: ERRORS[400],
                   401: ERRORS[401], 403: ERRORS[403], 429: ERRORS[429]},
    )
    def post(self, request):
        data = TokenLoginIn(data=request.data)
        data.is_valid(raise_exception=True)
        user = authenticate(request._request, email=data.validated_data["email"].lower(),
                            password=data.validated_data["password"])
        if getattr(request._request, "axes_locked_out", False):
            cooloff = int(settings.AXES_COOLOFF_TIME * 3600)
            raise RateLimited("Too many failed logins for this account; try again later.",
                           headers={"Retry-After": str(cooloff)})
        if user is None or not user.is_active:
            raise InvalidCredentials("The email or password is wrong.")
        from teams.twofactor import token_login_check

        token_login_check(user, data.validated_data.get("otp"))  # TwoFactorError: the handler answers its code
        _, key = token_issue(user=user, name=request.headers.get("User-Agent", "")[:80])
        return Response({"token": key})


class TokenRevokeView(APIView):
    """Revoke the token this request authenticates with (with a session: every token of the caller)."""

    @extend_schema(request=None, responses={204: None, 401: ERRORS[401]})
    def delete(self, request):
        if isinstance(request.auth, ApiToken):
            token_revoke(token=request.auth, by=request.user)
        else:
            tokens_revoke(user=request.user, by=request.user, reason="revoked by holder")
        return Response(status=204)
