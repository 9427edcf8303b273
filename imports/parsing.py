"""Reading an uploaded CSV: encoding, header, size and row limits, with clear errors before any job exists."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from brokercrm.csvutil import csv_cell_restore
from brokercrm.errors import DomainError, TooLarge

from . import conf

REQUIRED = ["email", "phone", "first_name", "last_name", "country"]
OPTIONAL = ["group_name", "assigned_to_email", "comment"]


class ImportFileError(DomainError):
    """A file we cannot import: 400 invalid_file, or a subclass's code."""

    code = "invalid_file"


class EmptyFile(ImportFileError):
    code = "empty_file"


class InvalidEncoding(ImportFileError):
    code = "invalid_encoding"


class FileTooLarge(TooLarge, ImportFileError):
    pass


class MissingColumns(ImportFileError):
    code = "missing_columns"


class TooManyRows(ImportFileError):
    code = "too_many_rows"
    status = 413


class NoRows(ImportFileError):
    code = "no_rows"


@dataclass
class ParsedFile:
    header: list[str]
    rows: list[dict[str, str]]
    messages: list[str] = field(default_factory=list)


def decode(raw: bytes) -> tuple[str, list[str]]:
    """UTF-8 (with or without BOM); Windows-1252 is detected and accepted with a note; binary is refused."""
    if not raw.strip():
        raise EmptyFile("The file is empty.")
    if b"\x00" in raw[:65536]:
        raise ImportFileError("This is not a CSV file (it contains binary data).")
    try:
        return raw.decode("utf-8-sig"), []
    except UnicodeDecodeError:
        pass
    try:
        text = raw.decode("cp1252")
    except UnicodeDecodeError:
        raise InvalidEncoding("The file is neither UTF-8 nor Windows-1252; save it as UTF-8.") \
            from None
    return text, ["The file is not UTF-8: it was read as Windows-1252."]


DELIMITERS = (",", ";", "\t")
# Columns of our own rejections report: a fixed report can be uploaded again as it is; these two are ignored.
REPORT_COLUMNS = ("row_number", "reason")


def detect_delimiter(text: str) -> str:
    """The delimiter of the header line: the most frequent of comma, semicolon and tab outside quotes (comma when
    none appears). Only the delimiter is detected: quoting is always RFC 4180 (doubled quotes, quoted newlines),
    whatever the first kilobytes hold — csv.Sniffer's full dialect guessed `doublequote=False` when no quote
    appeared early and silently corrupted later quoted cells."""
    counts = dict.fromkeys(DELIMITERS, 0)
    quoted = False
    for char in text[:65536]:
        if char == '"':
            quoted = not quoted
        elif quoted:
            continue
        elif char in "\r\n":
            break
        elif char in counts:
            counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def reader_for(text: str):
    """A csv reader for `text` with the detected delimiter and RFC 4180 quoting."""
    return csv.reader(io.StringIO(text, newline=""), delimiter=detect_delimiter(text), quotechar='"',
                      doublequote=True, skipinitialspace=False, strict=False)


def parse(raw: bytes, *, max_rows: int | None = None) -> ParsedFile:
    """Steps: size limit → decode → the delimiter from the header line → header (case-insensitive, any order;
    unknown columns ignored and named; our report's row_number/reason ignored silently; missing required ones
    refused) → rows (RFC 4180: doubled quotes, quoted delimiters and newlines, CRLF) → row limit."""
    max_rows = max_rows or conf.IMPORT_MAX_ROWS
    if len(raw) > conf.IMPORT_MAX_BYTES:
        raise FileTooLarge(f"The file exceeds the {conf.IMPORT_MAX_BYTES:,}-byte limit.")
    text, messages = decode(raw)
    reader = reader_for(text)
    try:
        header_cells = next(reader)
    except (StopIteration, csv.Error):
        raise ImportFileError("The file has no header line.") from None
    header = [h.strip().lower().lstrip("\ufeff") for h in header_cells]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise MissingColumns(f"Required columns are missing: {', '.join(missing)}.",
                             fields={"file": [f"Missing column: {c}" for c in missing]})
    report = all(c in header for c in REPORT_COLUMNS)
    if report:  # a rejections report uploaded again: its bookkeeping columns are not data
        header = ["" if h in REPORT_COLUMNS else h for h in header]
    unknown = [h for h in header if h and h not in REQUIRED + OPTIONAL]
    if unknown:
        messages.append(f"Ignored unknown columns: {', '.join(unknown)}.")
    rows = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            if len(rows) >= max_rows:
                raise TooManyRows(f"The file has more than {max_rows:,} rows (the limit).")
            row = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header) if name}
            rows.append(_unneutralize(row) if report else row)
    except csv.Error as exc:
        raise ImportFileError(f"The CSV is malformed near line {reader.line_num}: {exc}.") from None
    if not rows:
        raise NoRows("The file has a header but no data rows.")
    if report:
        messages.append("A rejections report: its row_number and reason columns were ignored.")
    return ParsedFile(header=header, rows=rows, messages=messages)


def _unneutralize(row: dict[str, str]) -> dict[str, str]:
    """Undo the `'` our reports put before formula-like cells (brokercrm.csvutil), so a fixed report re-imports
    the values as first uploaded."""
    return {name: csv_cell_restore(value) for name, value in row.items()}
