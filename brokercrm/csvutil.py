"""CSV safety shared by every CSV we produce (exports, rejection reports)."""

from __future__ import annotations

from collections.abc import Iterable

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\0")


def csv_cell(value) -> str:
    """Neutralize a cell a spreadsheet would run as a formula: prefix it with `'`."""
    text = "" if value is None else str(value)
    return f"'{text}" if _needs_prefix(text) else text


def _needs_prefix(text: str) -> bool:
    # Quotes already in front are counted too (`'=x` → `''=x`), so that csv_cell_restore is an exact inverse.
    return text.lstrip("'").startswith(_FORMULA_STARTS)


def csv_cell_restore(text: str) -> str:
    """The inverse of csv_cell for a cell read back from a CSV we produced."""
    return text[1:] if text.startswith("'") and _needs_prefix(text[1:]) else text


def csv_safe(row: Iterable) -> list[str]:
    return [csv_cell(v) for v in row]
