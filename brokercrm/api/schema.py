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
    400: "Invalid input (validation_error, malformed_json, …)",
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
