"""Errors outside DRF views (unknown URLs, oversized or hostile bodies, crashes) still answer the API's JSON error
body on /api/, and the workspace's error page elsewhere. Bad input is never a 500."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from csp import middleware as csp_middleware
from csp.constants import HEADER as CSP_HEADER
from csp.constants import HEADER_REPORT_ONLY as CSP_HEADER_RO
from csp.utils import build_policy as csp_build_policy
from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation
from django.core.signals import got_request_exception
from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from .api.errors import domain_error_json, error_body
from .errors import Conflict, DomainError
from .inputs import InvalidJson
from .uniques import is_unique_violation

log = logging.getLogger(__name__)
security_log = logging.getLogger("django.security")

_CONCURRENT = ("A concurrent request saved the same value (one that must be unique) first, so this request was not "
               "completed. Reload and try again.")

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


_PAGES = {
    403: ("Not allowed", "Your role does not allow this page or action. Ask an administrator if you need it."),
    404: ("Page not found", "This page does not exist, or what it shows is not in your scope."),
    500: ("Something went wrong", "An internal error occurred on our side; it has been logged. Please try again."),
}


def _staff(request) -> bool:
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and hasattr(user, "holds"))


def status_page(request, status: int, *, title: str | None = None, detail: str | None = None) -> HttpResponse:
    """403/404/500 outside the API: inside the workspace layout with a way back for signed-in staff, a plain
    branded page for everyone else (visitors, the client area). The detail is fixed text: exception messages may
    carry data the viewer must not see."""
    title, detail = title or _PAGES[status][0], detail or _PAGES[status][1]
    home_url, home_label = "/", "Home"
    if request.path.startswith("/client/"):
        home_url, home_label = "/client/", "Client area"
    elif not _staff(request):
        home_url, home_label = "/login/", "Log in"
    context = {"status": status, "title": title, "detail": detail, "home_url": home_url, "home_label": home_label}
    if _staff(request) and not request.path.startswith("/client/"):
        context["home_label"] = "Dashboard"
        referer = request.headers.get("Referer", "")
        if referer and url_has_allowed_host_and_scheme(referer, allowed_hosts={request.get_host()}) \
                and referer != request.build_absolute_uri():
            context["back_url"] = referer
        try:
            return HttpResponse(render_to_string("workspace/error.html", context, request=request), status=status)
        except Exception:  # the layout itself failed (e.g. the database is down): the plain page still answers
            log.error("workspace error page failed to render on %s", request.path)
    response = HttpResponse(render_to_string("error.html", context), status=status)
    return response


def page_not_found(request, exception=None):
    """handler404 (DEBUG off); with DEBUG on the middleware answers the same page."""
    if is_api(request):
        return JsonResponse(error_body(*_GENERIC[404]), status=404)
    return status_page(request, 404)


def permission_denied(request, exception=None):
    if is_api(request):
        return JsonResponse(error_body("permission_denied", "You do not have permission to perform this action."),
                            status=403)
    return status_page(request, 403)


def csrf_failure(request, reason: str = ""):
    """CSRF_FAILURE_VIEW: a form posted without its token (expired page, another site) gets the 403 page in the
    workspace layout, saying what to do, instead of Django's bare page. The reason stays in the log."""
    log.warning("CSRF check failed on %s %s: %s", request.method, request.path, reason)
    if is_api(request):
        return JsonResponse(error_body("permission_denied", "CSRF check failed."), status=403)
    return status_page(request, 403, title="Form expired",
                      detail="This form was sent without a valid security token (the page was open too long, or it "
                             "came from another site). Reload the page and try again.")


def server_error(request):
    if is_api(request):
        return JsonResponse(error_body(*_GENERIC[500]), status=500)
    return status_page(request, 500)


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
        if not is_api(request) and response.status_code == 404 and getattr(request, "resolver_match", None) is None:
            # No URL matched: with DEBUG on Django would answer its technical 404 page.
            response = status_page(request, 404)
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
                return domain_error_json(exception)
            return error_page(request, exception.status, exception.detail)
        known = bad_input(exception)
        if known is not None:
            status, code, detail = known
            security_log.warning("bad input: %s on %s %s", type(exception).__name__, request.method, request.path)
            if is_api(request):
                return JsonResponse(error_body(code, detail), status=status)
            return error_page(request, status, detail)
        if is_unique_violation(exception):
            # A check-then-write overtaken by a concurrent request (services that check turn this into their own
            # error with brokercrm.uniques.unique_or); the failed write's transaction is rolled back. Never a 500.
            log.warning("unique violation (concurrent write) on %s %s", request.method, request.path)
            if is_api(request):
                return domain_error_json(Conflict(_CONCURRENT))
            return error_page(request, 409, _CONCURRENT)
        if is_api(request):
            # Log the exception type and path only: messages may carry customer data.
            log.error("unhandled %s on %s %s", type(exception).__name__, request.method, request.path)
            return JsonResponse(error_body(*_GENERIC[500]), status=500)
        # Workspace and client pages: the layout's error pages, with DEBUG on as well (no technical pages).
        if isinstance(exception, Http404):
            return status_page(request, 404)
        if isinstance(exception, PermissionDenied):
            return status_page(request, 403)
        log.error("unhandled %s on %s %s", type(exception).__name__, request.method, request.path,
                  exc_info=settings.DEBUG)
        # What Django's own handler does: error reporters (and the test client, which re-raises) still hear of it.
        got_request_exception.send(sender=None, request=request)
        return status_page(request, 500)


def _is_json(response) -> bool:
    return response.get("Content-Type", "").startswith("application/json")


class TimeZoneMiddleware:
    """Times in the signed-in staff member's own zone (`User.time_zone`, set on the profile page), per request.

    Reads the attribute without importing teams (brokercrm is the lowest layer); an unknown stored zone falls back
    to the server's TIME_ZONE rather than failing the page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        name = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        if name:
            try:
                timezone.activate(ZoneInfo(name))
            except (ZoneInfoNotFoundError, ValueError, OSError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


_CSP_OVERRIDES = ("_csp_config", "_csp_update", "_csp_replace", "_csp_config_ro", "_csp_update_ro", "_csp_replace_ro")


class CSPMiddleware(csp_middleware.CSPMiddleware):
    """django-csp's middleware, with the header of a response that used no nonce and has no policy of its own (every
    API response, most redirects) built once per policy setting instead of on each response: django-csp builds it
    from the settings every time (a dataclass copy and the directives joined: about a tenth of a token-authenticated
    API request's CPU here). Every other response (a page whose template used `request.csp_nonce`, a view's
    `csp_update`/`csp_replace`/`csp_override`, DEBUG's error pages) goes through django-csp unchanged."""

    def __init__(self, get_response):
        super().__init__(get_response)
        self._built: tuple = (None, None, "", "")

    def _policies(self) -> tuple[str, str]:
        policy = getattr(settings, "CONTENT_SECURITY_POLICY", None)
        policy_ro = getattr(settings, "CONTENT_SECURITY_POLICY_REPORT_ONLY", None)
        built = self._built
        if built[0] is not policy or built[1] is not policy_ro:  # first use, or the settings changed (tests)
            built = (policy, policy_ro, csp_build_policy(), csp_build_policy(report_only=True))
            self._built = built
        return built[2], built[3]

    def process_response(self, request, response):
        if (getattr(request, "_csp_nonce", None) is not None
                or any(getattr(response, name, None) is not None for name in _CSP_OVERRIDES)
                or (settings.DEBUG and response.status_code in (500, 404))):
            return super().process_response(request, response)
        header, header_ro = self._policies()
        for value, name, exempt, setting in ((header, CSP_HEADER, "_csp_exempt", "CONTENT_SECURITY_POLICY"),
                                             (header_ro, CSP_HEADER_RO, "_csp_exempt_ro",
                                              "CONTENT_SECURITY_POLICY_REPORT_ONLY")):
            if not value or getattr(response, exempt, False) is not False or name in response:
                continue
            prefixes = (getattr(settings, setting, None) or {}).get("EXCLUDE_URL_PREFIXES", None) or ()
            if not request.path_info.startswith(tuple(prefixes)):
                response[name] = value
        # As django-csp: once the header is written, asking for a nonce is an error (it could not be in the header).
        request.csp_nonce = csp_middleware.CheckableLazyObject(self._csp_nonce_post_response)
        return response
