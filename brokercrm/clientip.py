"""The client's address, read through a configured number of trusted proxies (`TRUSTED_PROXY_COUNT`).

One helper for everything that keys on the caller's address: DRF throttles (`ClientAddressThrottleMixin`, and
`NUM_PROXIES` is set to the same count so DRF's own `get_ident` agrees) and django-axes
(`AXES_CLIENT_IP_CALLABLE`). With the default of 0 the socket's address is the client and `X-Forwarded-For` is
ignored, so a forged header changes nothing. With N proxies in front, each appends the address it saw: the
client is the N-th entry from the right of `X-Forwarded-For` (the proxies' own additions are to its right).
"""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str:
    """The caller's address as seen by the outermost trusted proxy (or the socket's address with none)."""
    meta = getattr(request, "META", request)
    remote = meta.get("REMOTE_ADDR") or ""
    count = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    forwarded = meta.get("HTTP_X_FORWARDED_FOR")
    if count <= 0 or not forwarded:
        return remote
    hops = [hop.strip() for hop in forwarded.split(",")]
    # Same rule as DRF's NUM_PROXIES: with fewer hops than proxies, the leftmost one.
    return hops[-min(count, len(hops))] or remote


class ClientAddressThrottleMixin:
    """DRF throttles keyed on `client_ip` (instead of DRF's own reading of X-Forwarded-For)."""

    def get_ident(self, request):
        return client_ip(request)
