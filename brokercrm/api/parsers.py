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


def _refuse_nul(data):
    """Form fields can carry NUL (`%00`), which no PostgreSQL column or lookup accepts: refuse it up front."""
    for key, values in data.lists():
        if "\x00" in key or any(isinstance(v, str) and "\x00" in v for v in values):
            raise ParseError("Form fields may not contain NUL characters.")
    return data


class FormParser(parsers.FormParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return _refuse_nul(super().parse(stream, media_type, parser_context))


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        _refuse_nul(result.data)
        return result
