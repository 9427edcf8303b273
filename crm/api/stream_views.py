"""Trading accounts: their current state (JSON) and the live SSE feed (django-eventstream under ASGI)."""

from __future__ import annotations

from django.core.cache import cache
from django.db import connection
from django.http import JsonResponse
from django_eventstream.views import events
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.errors import ApiError
from brokercrm.api.schema import errors
from customers.models import Customer
from ledger.models import TradingAccount
from teams.permissions import require

from ..trading.simulator import STATE_KEY, Simulator, state_for


def _visible_account(user, login: int) -> TradingAccount | None:
    return (TradingAccount.objects.filter(login=login, customer__in=Customer.objects.visible_to(user))
            .select_related("customer").first())


class AccountView(APIView):
    permission_classes = [require("customers.view")]

    @extend_schema(responses={200: None, **errors(401, 403, 404)})
    def get(self, request, login: int):
        account = _visible_account(request.user, login)
        if account is None:
            raise ApiError(404, "not_found", "Not found.")
        state = cache.get(STATE_KEY.format(login=login))
        if state is None:
            platform = Simulator()
            state = state_for(account, platform, platform.prices())
        return Response({"login": account.login, "customer": account.customer_id, "currency": account.currency,
                         "state": state})


def account_stream(request, login: int):
    """`event: state` at most once per 500 ms, only for callers who may view the account's customer.

    Staff authenticate with the workspace session or `Authorization: Token …`; out of scope is 404."""
    user = request.user if getattr(request.user, "is_authenticated", False) else None
    header = request.headers.get("Authorization", "")
    if user is None and header.startswith("Token "):
        from teams.tokens import token_authenticate

        token = token_authenticate(header[6:].strip())
        user = token.user if token is not None else None
        if user is not None:
            request.user = user
    if user is None or not hasattr(user, "holds"):
        return JsonResponse({"code": "not_authenticated", "detail": "Authentication credentials were not provided."},
                            status=401)
    if not user.holds("customers.view"):
        return JsonResponse({"code": "permission_denied", "detail": "Needs customers.view."}, status=403)
    if _visible_account(user, login) is None:
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    response = events(request, channels=[f"account-{login}"])
    connection.close()  # the stream lives on without the database (see crm.channels)
    return response
