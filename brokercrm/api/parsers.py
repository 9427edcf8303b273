"""The API's JSON parser: DRF's, with a depth limit and text checks (brokercrm.inputs.json_loads).

DRF's own parser lets RecursionError (a body nested 50,000 deep) escape as a 500, and accepts strings that
PostgreSQL cannot store (NUL, unpaired surrogates)."""

from __future__ import annotations

import codecs

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from brokercrm.inputs import InvalidJson, json_loads


class InvalidJsonError(ParseError):
    """A body that is not JSON we accept: 400 invalid_json."""


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            raw = stream.read() if stream is not None else b""
            text = codecs.decode(raw, encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise InvalidJsonError(f"The body is not valid {encoding}: {exc}") from None
        try:
            return json_loads(text)
        except InvalidJson as exc:
            raise InvalidJsonError(str(exc)) from None
