"""brokercrm.middleware.CSPMiddleware: the same headers as django-csp's middleware on every kind of response; only
the nonce-less, policy-less ones take the header built once."""

from __future__ import annotations

import re

import pytest
from csp import middleware as csp_middleware
from csp.constants import HEADER, HEADER_REPORT_ONLY, NONE, SELF
from csp.decorators import csp_exempt, csp_replace, csp_update
from csp.exceptions import CSPNonceError
from django.http import HttpResponse, JsonResponse
from django.test import RequestFactory, override_settings

from brokercrm.middleware import CSPMiddleware


def _api(request):
    return JsonResponse({"ok": True})


def _page_with_nonce(request):
    return HttpResponse(f"<script nonce='{request.csp_nonce}'></script>")


@csp_update({"img-src": ["https://img.example"]})
def _updated(request):
    return HttpResponse("u")


@csp_replace({"script-src": [SELF]})
def _replaced(request):
    return HttpResponse("r")


@csp_exempt()
def _exempt(request):
    return HttpResponse("e")


def _preset(request):
    response = HttpResponse("p")
    response[HEADER] = "default-src 'none'"
    return response


def _missing(request):
    return HttpResponse("nope", status=404)


VIEWS = [_api, _page_with_nonce, _updated, _replaced, _exempt, _preset, _missing]
PATHS = ["/api/backoffice/transactions", "/customers/", "/static/x.css"]


def _headers(middleware_class, view, path):
    request = RequestFactory().get(path)
    middleware = middleware_class(view)
    response = middleware(request)
    return {name: response.get(name) for name in (HEADER, HEADER_REPORT_ONLY)}, request


def _same_headers(view, path):
    ours, request = _headers(CSPMiddleware, view, path)
    theirs, _ = _headers(csp_middleware.CSPMiddleware, view, path)
    if view is _page_with_nonce:  # a fresh nonce each time: compare the rest
        nonce = request._csp_nonce
        ours = {k: v.replace(nonce, "N") if v else v for k, v in ours.items()}
        theirs = {k: v and re.sub(r"nonce-[^']+", "nonce-N", v) for k, v in theirs.items()}
    assert ours == theirs, (view.__name__, path)
    return ours, request


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
@pytest.mark.parametrize("path", PATHS)
def test_same_headers_as_django_csp(view, path):
    ours, request = _same_headers(view, path)
    if view is _page_with_nonce:
        assert "'nonce-N'" in ours[HEADER]
    if view is not _page_with_nonce:  # asking for a nonce after the header is written still fails, as in django-csp
        with pytest.raises(CSPNonceError):
            str(request.csp_nonce)


@pytest.mark.parametrize("view", VIEWS, ids=lambda v: v.__name__)
def test_same_headers_with_report_only_excluded_prefixes_and_debug(view, settings):
    settings.CONTENT_SECURITY_POLICY = {"EXCLUDE_URL_PREFIXES": ["/static/"],
                                        "DIRECTIVES": {"default-src": [SELF], "object-src": [NONE]}}
    settings.CONTENT_SECURITY_POLICY_REPORT_ONLY = {"DIRECTIVES": {"default-src": [SELF], "report-uri": "/csp"}}
    for path in PATHS:
        _same_headers(view, path)
    settings.DEBUG = True
    for path in PATHS:
        _same_headers(view, path)


def test_the_built_header_follows_the_settings():
    middleware = CSPMiddleware(_api)
    first = middleware(RequestFactory().get("/api/x"))[HEADER]
    assert first == middleware(RequestFactory().get("/api/y"))[HEADER]
    with override_settings(CONTENT_SECURITY_POLICY={"DIRECTIVES": {"default-src": [NONE]}}):
        assert middleware(RequestFactory().get("/api/x"))[HEADER] == "default-src 'none'"
    assert middleware(RequestFactory().get("/api/x"))[HEADER] == first
