"""CSV safety shared by every CSV we produce (exports, rejection reports): write them with `csv_lines`, which
neutralizes every cell, the header included (an uploaded file's column names are user input too)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

# What spreadsheets run as a formula (or a DDE call) at the start of a cell, including the full-width forms some
# locales accept, and the whitespace they skip before one.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\n", "\0", "＝", "＋", "－", "＠")


def csv_cell(value) -> str:
    """Neutralize a cell a spreadsheet would run as a formula: prefix it with `'`."""
    text = "" if value is None else str(value)
    return f"'{text}" if _needs_prefix(text) else text


def _needs_prefix(text: str) -> bool:
    # Quotes already in front are counted too (`'=x` → `''=x`), so that csv_cell_restore is an exact inverse;
    # so is whitespace before a formula character (spreadsheets skip it).
    stripped = text.lstrip("'")
    return stripped.startswith(_FORMULA_STARTS) or stripped.lstrip(" \t\r\n\0").startswith(_FORMULA_STARTS)


def csv_cell_restore(text: str) -> str:
    """The inverse of csv_cell for a cell read back from a CSV we produced."""
    return text[1:] if text.startswith("'") and _needs_prefix(text[1:]) else text


def csv_safe(row: Iterable) -> list[str]:
    return [csv_cell(v) for v in row]


def csv_lines(header: Iterable, rows: Iterable[Iterable]) -> Iterator[str]:
    """The CSV text of `header` and `rows`, one line at a time (for a StreamingHttpResponse), every cell safe."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for row in _with_header(header, rows):
        writer.writerow(csv_safe(row))
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


def _with_header(header, rows):
    yield header
    yield from rows
