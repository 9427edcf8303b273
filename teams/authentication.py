"""Staff authentication for the API. Customers are another realm and never authenticate here."""

from __future__ import annotations

from rest_framework.authentication import SessionAuthentication, TokenAuthentication


class StaffTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>` for staff users; the key is revocable (DELETE /api/auth/token)."""

    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        return user, token

    def authenticate_header(self, request):
        return "Token"


class StaffSessionAuthentication(SessionAuthentication):
    """The workspace's session (`/login/`) also opens the API, with CSRF enforced."""
