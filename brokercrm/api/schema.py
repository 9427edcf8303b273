"""Shared OpenAPI pieces: the error body every endpoint documents."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ErrorSerializer = inline_serializer(
    "Error",
    {
        "code": serializers.CharField(),
        "detail": serializers.CharField(),
        "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
    },
)

_DESCRIPTIONS = {
    400: "Invalid input (validation_error, invalid_json, …)",
    401: "Missing or bad credentials",
    403: "Not allowed (permission_denied, privilege_escalation, maker_checker, …)",
    404: "Unknown, or outside the caller's view scope",
    405: "Method not allowed",
    409: "Conflict (duplicate, invalid_transition, concurrent change)",
    410: "Gone",
    413: "Too large",
    429: "Rate limited (Retry-After)",
    503: "A dependency is down",
}
ERRORS = {code: OpenApiResponse(ErrorSerializer, description=text) for code, text in _DESCRIPTIONS.items()}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: ERRORS[code] for code in codes}


# --- schema generation ------------------------------------------------------------------------------------------
from drf_spectacular.extensions import OpenApiAuthenticationExtension  # noqa: E402
from drf_spectacular.openapi import AutoSchema as _AutoSchema  # noqa: E402


class StaffTokenScheme(OpenApiAuthenticationExtension):
    target_class = "teams.authentication.StaffTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <key>` from POST /api/auth/token"}


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "teams.authentication.StaffSessionAuthentication"
    name = "cookieAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


class CustomerSessionScheme(OpenApiAuthenticationExtension):
    target_class = "customers.auth.CustomerSessionAuthentication"
    name = "customerSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid",
                "description": "The customer's client-area session (a separate realm from staff)."}


class AutoSchema(_AutoSchema):
    """Every operation documents the error responses it can give, in the shared error body."""

    def get_response_serializers(self):
        return super().get_response_serializers()

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        defaults = [400, 401, 403, 404, 429]
        if self.method in ("POST", "PUT", "PATCH"):
            defaults.append(409)
        if not self.get_auth():
            defaults = [c for c in defaults if c not in (401, 403)]
        for code in defaults:
            if str(code) not in responses:
                responses[str(code)] = self._get_response_for_code(ERRORS[code], str(code), direction=direction)
        return responses


def strip_trailing_slashes(result, generator, request, public):
    """API.md writes paths without a trailing slash (the router accepts both): document them that way."""
    result["paths"] = {
        (path.rstrip("/") if path not in ("/api/schema/", "/api/docs/") else path): item
        for path, item in result["paths"].items()
    }
    return result
