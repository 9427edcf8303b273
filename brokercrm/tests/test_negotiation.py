"""brokercrm.api.negotiation.RememberedNegotiation: the same choice as DRF's negotiation for every Accept header and
format, remembered; errors are DRF's and never kept."""

from __future__ import annotations

import pytest
from django.http import Http404
from rest_framework import exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer, TemplateHTMLRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from brokercrm.api.negotiation import RememberedNegotiation

ACCEPTS = [None, "application/json, " * 40 + "*/*",
           "*/*", "application/json", "application/json; indent=4", "text/html,application/xhtml+xml,*/*;q=0.8",
           "text/html", "application/*", "application/json;q=0.5, text/html;q=0.9", "image/png"]
RENDERER_SETS = [[JSONRenderer()], [JSONRenderer(), BrowsableAPIRenderer()], [TemplateHTMLRenderer(), JSONRenderer()]]


def _request(accept, format=None):
    headers = {"HTTP_ACCEPT": accept} if accept is not None else {}
    return Request(APIRequestFactory().get("/api/x", {"format": format} if format else {}, **headers))


def _answer(negotiation, accept, renderers, format=None, suffix=None):
    try:
        renderer, media_type = negotiation.select_renderer(_request(accept, format), renderers, suffix)
    except (exceptions.NotAcceptable, Http404) as error:
        return type(error)
    return renderers.index(renderer), media_type


@pytest.mark.parametrize("renderers", RENDERER_SETS, ids=["json", "json+browsable", "html+json"])
def test_same_choice_as_drf_and_remembered(renderers):
    ours, drf = RememberedNegotiation(), DefaultContentNegotiation()
    RememberedNegotiation._kept.clear()
    for _ in range(2):  # the second round answers from what was kept
        for accept in ACCEPTS:
            for format, suffix in ((None, None), ("json", None), ("api", None), (None, "json"), ("xml", None)):
                assert _answer(ours, accept, renderers, format, suffix) == _answer(drf, accept, renderers, format,
                                                                                   suffix), (accept, format, suffix)
    assert RememberedNegotiation._kept
    assert all(not isinstance(v, type) for v in RememberedNegotiation._kept.values())  # no error kept


def test_at_most_512_answers_are_kept():
    RememberedNegotiation._kept.clear()
    for i in range(1200):
        RememberedNegotiation().select_renderer(_request(f"application/json; v={i}"), [JSONRenderer()])
    assert 0 < len(RememberedNegotiation._kept) <= 512
