"""Parsers for untrusted input that every door shares: object ids and JSON bodies.

Python's own helpers accept more than they seem to: `"²".isdigit()` is true but `int("²")` fails, `int("١٢")`
is 12, `int(" 7 ")` is 7, and `json.loads` of a body nested 50,000 deep raises RecursionError (not ValueError).
Use these instead, so that bad input is a 400/404 with the API.md code and never a 500."""

from __future__ import annotations

import json
import re

from .errors import DomainError

# PostgreSQL bigint; ids beyond it cannot exist (and would make the query itself fail).
MAX_ID = 2**63 - 1
_ID = re.compile(r"[0-9]{1,19}")
# Deeper than any body we accept; the C parser would recurse ~1,000 levels before failing.
MAX_JSON_DEPTH = 64


def parse_id(value) -> int | None:
    """A positive object id from untrusted input (ASCII digits or an int), or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value <= MAX_ID else None
    if not isinstance(value, str) or not _ID.fullmatch(value):
        return None
    number = int(value)
    return number if 0 < number <= MAX_ID else None


def parse_ids(values) -> list[int] | None:
    """Every value an id (see parse_id), or None when any is not."""
    ids = [parse_id(v) for v in values]
    return None if any(i is None for i in ids) else ids


def require_id(value, field: str) -> int:
    """parse_id, or a 400 validation_error naming `field`."""
    number = parse_id(value)
    if number is None:
        raise DomainError(f"{field} must be an id.", fields={field: ["A positive integer id."]})
    return number


class InvalidJson(ValueError):
    """The body is not JSON, or is nested deeper than MAX_JSON_DEPTH (API.md: 400 invalid_json)."""


def json_loads(data: bytes | str, *, max_depth: int = MAX_JSON_DEPTH):
    """json.loads that fails with InvalidJson (a ValueError) on malformed or too deeply nested input."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise InvalidJson(f"JSON nested deeper than {max_depth} levels.") from None
    except ValueError as exc:  # includes JSONDecodeError and UnicodeDecodeError
        raise InvalidJson(f"Malformed JSON: {exc}") from None
    _check(value, max_depth)
    return value


def _check(value, max_depth: int) -> None:
    """Walk the parsed value (iteratively: it cannot itself overflow the stack): depth, and strings that no
    database column can hold (NUL, unpaired surrogates such as "\\ud800")."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, str):
            _check_text(node)
        elif isinstance(node, dict | list):
            if depth > max_depth:
                raise InvalidJson(f"JSON nested deeper than {max_depth} levels.")
            if isinstance(node, dict):
                for key in node:
                    _check_text(key)
                stack.extend((child, depth + 1) for child in node.values())
            else:
                stack.extend((child, depth + 1) for child in node)


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise InvalidJson("JSON strings may not contain NUL characters.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidJson("JSON strings may not contain unpaired surrogates.") from None
