"""Staff authentication for the API. Customers are another realm and never authenticate here."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication


class StaffTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` for staff users (teams.tokens: hashed, expiring, revocable).

    `request.auth` is the ApiToken."""

    def authenticate_credentials(self, key):
        from .tokens import token_authenticate

        token = token_authenticate(key)
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked token.")
        return token.user, token

    def authenticate_header(self, request):
        return "Token"


class StaffSessionAuthentication(SessionAuthentication):
    """The workspace's session (`/login/`) also opens the API, with CSRF enforced."""
