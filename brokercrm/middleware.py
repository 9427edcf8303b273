"""Errors outside DRF views (unknown URLs, oversized or hostile bodies, crashes) still answer the API's JSON error
body on /api/, and the workspace's error page elsewhere. Bad input is never a 500."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpResponse, JsonResponse
from django.template.loader import render_to_string

from .api.errors import error_body
from .errors import DomainError
from .inputs import InvalidJson

log = logging.getLogger(__name__)
security_log = logging.getLogger("django.security")

_GENERIC = {
    400: ("validation_error", "The request could not be understood: some of its values are invalid."),
    404: ("not_found", "Not found."),
    405: ("method_not_allowed", None),
    413: ("too_large", None),
    500: ("server_error", "An internal error occurred; it has been logged."),
}


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_input(exception) -> tuple[int, str, str] | None:
    """(status, API.md code, detail) for an exception caused by the request's input, or None."""
    if isinstance(exception, RequestDataTooBig):
        return 413, "too_large", f"The request body exceeds {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
    if isinstance(exception, RecursionError):
        return 400, "invalid_json", "The request is nested too deeply."
    if isinstance(exception, InvalidJson):
        return 400, "invalid_json", str(exception)
    if isinstance(exception, SuspiciousOperation):
        # TooManyFieldsSent, TooManyFilesSent, DisallowedHost, …: Django's messages name no user data.
        return 400, "validation_error", str(exception) or _GENERIC[400][1]
    return None


def error_page(request, status: int, detail: str) -> HttpResponse:
    """The workspace's error page. Rendered without the request: it may be the request that is broken
    (a forged Host header, a body Django refused to parse)."""
    return HttpResponse(render_to_string("400.html", {"detail": detail}), status=status)


def bad_request(request, exception=None):
    """handler400: SuspiciousOperation raised anywhere (a middleware, the URL resolver, a view)."""
    known = bad_input(exception) if exception is not None else None
    status, code, detail = known or (400, *_GENERIC[400])
    if is_api(request):
        return JsonResponse(error_body(code, detail), status=status)
    return error_page(request, status, detail)


def _has_nul(request) -> bool:
    """NUL can be stored nowhere in PostgreSQL: a path or query parameter carrying one is refused up front."""
    if "\x00" in request.path:
        return True
    return any("\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists())


class JsonErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if _has_nul(request):
            detail = "NUL characters are not accepted in the URL."
            if is_api(request):
                return JsonResponse(error_body("validation_error", detail), status=400)
            return error_page(request, 400, detail)
        response = self.get_response(request)
        if is_api(request) and response.status_code in _GENERIC and not _is_json(response):
            code, detail = _GENERIC[response.status_code]
            if response.status_code == 405:
                detail = f"Method {request.method} is not allowed here."
            elif response.status_code == 413:
                detail = f"The request body exceeds {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."
            json_response = JsonResponse(error_body(code, detail), status=response.status_code)
            if response.has_header("Allow"):
                json_response["Allow"] = response["Allow"]
            return json_response
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, DomainError):  # raised outside DRF (plain views, webhooks): the same body
            if is_api(request):
                response = JsonResponse(error_body(exception.code, exception.detail, exception.fields),
                                        status=exception.status)
                for key, value in exception.headers.items():
                    response[key] = value
                return response
            return error_page(request, exception.status, exception.detail)
        known = bad_input(exception)
        if known is not None:
            status, code, detail = known
            security_log.warning("bad input: %s on %s %s", type(exception).__name__, request.method, request.path)
            if is_api(request):
                return JsonResponse(error_body(code, detail), status=status)
            return error_page(request, status, detail)
        if is_api(request):
            # Log the exception type and path only: messages may carry customer data.
            log.error("unhandled %s on %s %s", type(exception).__name__, request.method, request.path)
            return JsonResponse(error_body(*_GENERIC[500]), status=500)
        return None


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
