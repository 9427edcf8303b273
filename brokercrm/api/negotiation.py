"""Content negotiation that remembers its answers."""

from __future__ import annotations

from rest_framework.negotiation import DefaultContentNegotiation

_KEPT_MAX = 512


class RememberedNegotiation(DefaultContentNegotiation):
    """DRF's negotiation, with the renderer it chose for an `Accept` header, a format and a list of renderers
    remembered: DRF parses the header and every renderer's media type on each request (about a twentieth of a
    token-authenticated API request's CPU here), and its answer depends on nothing else. The header is the client's
    to choose, so at most 512 answers of headers up to 256 characters are kept (all dropped when full); a header or
    format no renderer serves still gets DRF's 406 or 404 every time (errors are not kept)."""

    _kept: dict = {}

    def select_renderer(self, request, renderers, format_suffix=None):
        format = format_suffix or request.query_params.get(self.settings.URL_FORMAT_OVERRIDE)
        accept = request.META.get("HTTP_ACCEPT", "*/*")
        if len(accept) > 256:  # not worth keeping: DRF answers it
            return super().select_renderer(request, renderers, format_suffix)
        key = (accept, format, tuple((type(r), r.media_type, r.format) for r in renderers))
        found = self._kept.get(key)
        if found is None:
            renderer, media_type = super().select_renderer(_Asking(accept, format, self.settings), renderers)
            found = (renderers.index(renderer), media_type)
            if len(self._kept) >= _KEPT_MAX:
                self._kept.clear()
            self._kept[key] = found
        return renderers[found[0]], found[1]


class _Asking:
    """What DRF's negotiation reads of a request: its Accept header and its `?format=`."""

    def __init__(self, accept: str, format, settings):
        self.headers = {"accept": accept}
        self.query_params = {settings.URL_FORMAT_OVERRIDE: format} if format else {}
