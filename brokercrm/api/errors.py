"""One exception handler: every API error has the body {"code", "detail", "fields"?} of API.md."""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django_fsm import ConcurrentTransition, TransitionNotAllowed
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from brokercrm.errors import DomainError

log = logging.getLogger(__name__)


_DEFAULT_CODES = {
    400: "validation_error",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    409: "conflict",
    410: "gone",
    413: "too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def error_body(code: str, detail: str, fields: dict | None = None) -> dict:
    body = {"code": code, "detail": detail}
    if fields:
        body["fields"] = fields
    return body


def _flatten(detail) -> dict[str, list[str]]:
    if isinstance(detail, dict):
        out: dict[str, list[str]] = {}
        for key, value in detail.items():
            if isinstance(value, dict):
                for sub, msgs in _flatten(value).items():
                    out[f"{key}.{sub}"] = msgs
            elif isinstance(value, list):
                out[key] = [str(v) if not isinstance(v, dict) else str(v) for v in value]
            else:
                out[key] = [str(value)]
        return out
    if isinstance(detail, list):
        return {"non_field_errors": [str(v) for v in detail]}
    return {"non_field_errors": [str(detail)]}


def domain_error_json(exc: DomainError) -> JsonResponse:
    """A domain error as the API.md error body outside DRF (middleware, the workspace's JSON endpoints)."""
    response = JsonResponse(error_body(exc.code, str(exc.detail), exc.fields), status=exc.status)
    for key, value in exc.headers.items():
        response[key] = value
    return response


def domain_error_response(exc) -> Response | None:
    """A domain error (brokercrm.errors.DomainError: code and status on its class) as the API.md error body."""
    if not isinstance(exc, DomainError):
        return None
    response = Response(error_body(exc.code, str(exc.detail), exc.fields), status=exc.status)
    for key, value in exc.headers.items():
        response[key] = value
    return response


def exception_handler(exc, context):
    if isinstance(exc, TransitionNotAllowed):
        return Response(error_body("invalid_transition", str(exc) or "That status change is not allowed."), status=409)
    if isinstance(exc, ConcurrentTransition):
        return Response(
            error_body("concurrent_change", "Someone else changed this at the same time; reload and retry."),
            status=409,
        )
    if isinstance(exc, DjangoValidationError):
        fields = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(error_body("validation_error", "Invalid input.", fields), status=400)
    domain = domain_error_response(exc)
    if domain is not None:
        return domain
    from brokercrm.middleware import bad_input

    known = bad_input(exc)
    if known is not None:  # TooManyFieldsSent, RecursionError, … while parsing the body
        return Response(error_body(known[1], known[2]), status=known[0])
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    status_code = response.status_code
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("validation_error", "Invalid input.", _flatten(exc.detail))
        return response
    if isinstance(exc, exceptions.ParseError):
        from .parsers import InvalidJsonError

        code = "invalid_json" if isinstance(exc, InvalidJsonError) else "validation_error"
        response.data = error_body(code, f"The request body could not be parsed: {exc.detail}")
        return response
    if isinstance(exc, exceptions.Throttled):
        response.data = error_body("rate_limited", "Too many requests; retry after the Retry-After seconds.")
        return response
    code = _DEFAULT_CODES.get(status_code, "error")
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        code = "not_authenticated" if isinstance(exc, exceptions.NotAuthenticated) else "authentication_failed"
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    if isinstance(detail, dict | list):
        detail = "; ".join(f"{k}: {v}" for k, v in _flatten(detail).items())
    response.data = error_body(code, str(detail))
    return response
