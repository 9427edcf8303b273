"""Errors outside DRF views (unknown URLs, oversized bodies, crashes) still answer the API's JSON error body."""

from __future__ import annotations

import logging

from django.core.exceptions import RequestDataTooBig
from django.http import JsonResponse

from .api.errors import error_body

log = logging.getLogger(__name__)


def is_api(request) -> bool:
    return request.path.startswith("/api/")


class JsonErrorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if is_api(request) and response.status_code in (404, 405, 500) and not _is_json(response):
            code = {404: "not_found", 405: "method_not_allowed", 500: "server_error"}[response.status_code]
            detail = {
                404: "Not found.",
                405: f"Method {request.method} is not allowed here.",
                500: "An internal error occurred; it has been logged.",
            }[response.status_code]
            return JsonResponse(error_body(code, detail), status=response.status_code)
        return response

    def process_exception(self, request, exception):
        if isinstance(exception, RequestDataTooBig):
            from django.conf import settings

            return JsonResponse(
                error_body("too_large", f"The request body exceeds {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes."),
                status=413,
            )
        if is_api(request):
            # Log the exception type and path only: messages may carry customer data.
            log.error("unhandled %s on %s %s", type(exception).__name__, request.method, request.path)
            return JsonResponse(error_body("server_error", "An internal error occurred; it has been logged."), status=500)
        return None


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")
