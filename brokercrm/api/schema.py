"""Shared OpenAPI pieces: the error body every endpoint documents."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as _AutoSchema
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


_PAGES: dict[str, object] = {}


def page_of(serializer, name: str):
    """The list envelope of API.md, `{"results": [...], "next": <url or null>}`, for keyset/cursor pages.
    One component per name (drf-spectacular warns when two classes share a name)."""
    if name not in _PAGES:
        _PAGES[name] = inline_serializer(name, {
            "results": serializer(many=True),
            "next": serializers.URLField(allow_null=True),
        })
    return _PAGES[name]


# --- schema generation ------------------------------------------------------------------------------------------

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


_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def _error_responses(*codes: int) -> dict:
    return {str(code): {"description": _DESCRIPTIONS[code], "content": {"application/json": {"schema": _ERROR_REF}}}
            for code in codes}


def add_plain_django_paths(result, generator, request, public):
    """Document the two API doors that are plain Django views (drf-spectacular cannot see them): the SSE account
    stream and the payment providers' webhooks."""
    paths = result.setdefault("paths", {})
    paths["/api/crm/accounts/{login}/stream"] = {"get": {
        "operationId": "crm_accounts_stream",
        "tags": ["crm"],
        "summary": "Live account state (Server-Sent Events)",
        "description": "A long-lived `text/event-stream`: `event: state` with `balance, credit, equity, pnl, "
                       "margin_used, free_margin, margin_level, currency`, at most one event per 500 ms, only for "
                       "callers who may view the account's customer (others: 404).",
        "parameters": [{"name": "login", "in": "path", "required": True, "schema": {"type": "integer"}}],
        "security": [{"tokenAuth": []}, {"cookieAuth": []}],
        "responses": {
            "200": {"description": "The event stream",
                    "content": {"text/event-stream": {"schema": {"type": "string"}}}},
            **_error_responses(401, 403, 404),
        },
    }}
    paths["/api/payments/webhooks/{provider}"] = {"post": {
        "operationId": "payments_webhooks_create",
        "tags": ["payments"],
        "summary": "Payment provider callback",
        "description": "BridgerPay (the notification echoes the session's `payload` secret), Praxis "
                       "(`gt-authentication` signature) and the sandbox (`X-Sandbox-Signature`). Idempotent; only "
                       "the first final notification of an order counts. Malformed notifications are a 400, "
                       "unsigned or forged ones a 401; neither changes anything.",
        "parameters": [{"name": "provider", "in": "path", "required": True,
                        "schema": {"type": "string", "enum": ["bridgerpay", "praxis", "sandbox"]}}],
        "security": [{}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": {"type": "object"}}}},
        "responses": {
            "200": {"description": "Acknowledged (the provider's expected answer)",
                    "content": {"application/json": {"schema": {"type": "object"}}}},
            **_error_responses(400, 401, 404, 413),
        },
    }}
    return result


def strip_trailing_slashes(result, generator, request, public):
    """API.md writes paths without a trailing slash (the router accepts both): document them that way."""
    result["paths"] = {
        (path.rstrip("/") if path not in ("/api/schema/", "/api/docs/") else path): item
        for path, item in result["paths"].items()
    }
    return result
