"""Trading accounts: their current state (JSON) and the live SSE feed (django-eventstream under ASGI)."""

from __future__ import annotations

from django.db import connection
from django.http import HttpResponseBadRequest
from django_eventstream.eventrequest import EventRequest
from django_eventstream.utils import add_default_headers
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.schema import errors
from brokercrm.errors import AuthenticationFailed, Conflict, NotAuthenticated, NotFound, PermissionDenied
from customers.scoping import ScopedViewMixin, scoped_for
from ledger.models import TradingAccount
from teams.permissions import require
from teams.tokens import token_authenticate

from ..trading import bridge, fanout, feed, mt5


def _visible_account(user, login: int) -> TradingAccount | None:
    return scoped_for(TradingAccount, user).filter(login=login).select_related("customer").first()


class AccountView(ScopedViewMixin, APIView):
    permission_classes = [require("customers.view")]

    @extend_schema(responses={200: None, **errors(401, 403, 404)})
    def get(self, request, login: int):
        account = _visible_account(request.user, login)
        if account is None:
            raise NotFound("Not found.")
        try:
            state = feed.current_state(account)
        except (mt5.MT5Error, mt5.MT5Unavailable):
            state = None  # the platform is unreachable: say so rather than fail the page
        feed.watch(account.login)
        return Response({"login": account.login, "customer": account.customer_id, "currency": account.currency,
                         "state": state, "platform": bridge.sync_state(account).as_dict()})


class AccountPlatformRetryView(ScopedViewMixin, APIView):
    """An agent retries a failed platform sync (user creation, deals) of an account they may edit."""

    permission_classes = [require("customers.edit")]

    @extend_schema(request=None, responses={202: None, **errors(401, 403, 404, 409)})
    def post(self, request, login: int):
        account = self.scoped(TradingAccount, edit=True).filter(login=login).first()
        if account is None:
            raise NotFound("Not found.")
        if not bridge.enabled():
            raise Conflict("No trading platform is configured: accounts live in the ledger only.")
        return Response({"login": account.login, "platform": bridge.retry(account).as_dict()}, status=202)


def account_stream(request, login: int):
    """`event: state` at most once per 500 ms, only for callers who may view the account's customer.

    Staff authenticate with the workspace session or `Authorization: Token …`; out of scope is 404."""
    user = request.user if getattr(request.user, "is_authenticated", False) else None
    header = request.headers.get("Authorization", "")
    if user is None and header.startswith("Token "):
        token = token_authenticate(header[6:].strip())
        if token is None:  # a token was given and is not valid: the API's answer to the same header
            raise AuthenticationFailed("Invalid, expired or revoked token.")
        user = request.user = token.user
    if user is None or not hasattr(user, "holds"):
        raise NotAuthenticated("Authentication credentials were not provided.")  # the error middleware answers
    if not user.holds("customers.view"):
        raise PermissionDenied("Needs customers.view.")
    if _visible_account(user, login) is None:
        raise NotFound("Not found.")
    channel = f"account-{login}"
    try:  # django-eventstream's reading of the request (Last-Event-ID syntax), as before
        EventRequest(request, view_kwargs={"channels": [channel]})
    except EventRequest.Error as e:
        return HttpResponseBadRequest(f"Invalid request: {e}.\n")
    connection.close()  # the stream lives on without the database
    feed.watch(login)
    # One Redis subscription per process fans out to every stream of the account, throttled once per account
    # (crm.trading.fanout); the body is django-eventstream's SSE dialect.
    response = fanout.LiveStreamResponse(channel)
    add_default_headers(response, request=request)
    return response
