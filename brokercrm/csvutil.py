"""CSV safety shared by every CSV we produce (exports, rejection reports)."""

from __future__ import annotations

from collections.abc import Iterable

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def csv_cell(value) -> str:
    """Neutralize a cell a spreadsheet would run as a formula: prefix it with `'`."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def csv_safe(row: Iterable) -> list[str]:
    return [csv_cell(v) for v in row]
