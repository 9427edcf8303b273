"""Trading accounts: their current state (JSON) and the live SSE feed (django-eventstream under ASGI)."""

from __future__ import annotations

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
from teams.tokens import token_authenticate

from ..trading import bridge, feed, mt5


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
        try:
            state = feed.current_state(account)
        except (mt5.MT5Error, mt5.MT5Unavailable):
            state = None  # the platform is unreachable: say so rather than fail the page
        feed.watch(account.login)
        return Response({"login": account.login, "customer": account.customer_id, "currency": account.currency,
                         "state": state, "platform": bridge.sync_state(account).as_dict()})


class AccountPlatformRetryView(APIView):
    """An agent retries a failed platform sync (user creation, deals) of an account they may edit."""

    permission_classes = [require("customers.edit")]

    @extend_schema(request=None, responses={202: None, **errors(401, 403, 404, 409)})
    def post(self, request, login: int):
        account = (TradingAccount.objects.filter(login=login, customer__in=Customer.objects.editable_by(request.user))
                   .first())
        if account is None:
            raise ApiError(404, "not_found", "Not found.")
        if not bridge.enabled():
            raise ApiError(409, "conflict", "No trading platform is configured: accounts live in the ledger only.")
        return Response({"login": account.login, "platform": bridge.retry(account).as_dict()}, status=202)


def account_stream(request, login: int):
    """`event: state` at most once per 500 ms, only for callers who may view the account's customer.

    Staff authenticate with the workspace session or `Authorization: Token …`; out of scope is 404."""
    user = request.user if getattr(request.user, "is_authenticated", False) else None
    header = request.headers.get("Authorization", "")
    if user is None and header.startswith("Token "):
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
    if getattr(response, "is_async", False) and response.status_code == 200:
        feed.watch(login)
        response.streaming_content = feed.throttle_stream(response.streaming_content, login)
    return response
