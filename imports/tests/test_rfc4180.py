"""RFC 4180 without loss (issue #12): only the delimiter is detected, quoting is always honoured.

The import used to sniff the whole dialect from the first 4 KB: without a quote there, later doubled quotes and
quoted commas were read wrongly and the rows imported corrupted (or rejected for a shifted column)."""

from __future__ import annotations

import csv
import io
import random

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from imports.models import ImportJob
from imports.parsing import detect_delimiter, parse
from teams.tests.factories import demo_staff


@pytest.fixture
def demo(db):
    """Only the demo's staff (the admin runs the imports): teams.tests.factories.demo_staff."""
    return demo_staff()


COLUMNS = ["email", "phone", "first_name", "last_name", "country", "group_name", "assigned_to_email", "comment"]


def plain_rows(n: int, start: int = 0) -> list[list[str]]:
    return [[f"lead{i}@example.org", f"+4479111{i:05d}", f"First{i}", f"Last{i}", "GB", "", "", ""]
            for i in range(start, start + n)]


def as_csv(rows, *, delimiter=",", lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL, bom=False) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator=lineterminator, quoting=quoting)
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return (("\ufeff" if bom else "") + buffer.getvalue()).encode("utf-8")


# --- the three reported corruptions: quotes appear only after the first 4 KB --------------------------------------

LATE = [
    ["obrien@example.org", "+447911300001", 'O"Brien', 'O"Brien"', "GB", "", "", ""],
    ["call@example.org", "+447911300002", "Ann", "Lee", "GB", "", "", 'She said "call me", then hung up'],
    ["formula@example.org", "+447911300003", "Fo", "Rmula", "GB", "", "", '=HYPERLINK("http://x.test","a, b")'],
]


def test_late_quotes_are_read_as_written_issue_12():
    raw = as_csv(plain_rows(200) + LATE)  # ~11 KB of rows without a quote first
    assert b'"O""Brien"' in raw and b'"She said ""call me"", then hung up"' in raw
    rows = parse(raw).rows
    assert len(rows) == 203
    by_email = {r["email"]: r for r in rows}
    assert by_email["obrien@example.org"]["first_name"] == 'O"Brien'
    assert by_email["obrien@example.org"]["last_name"] == 'O"Brien"'
    assert by_email["call@example.org"]["comment"] == 'She said "call me", then hung up'
    formula = by_email["formula@example.org"]
    assert formula["comment"] == '=HYPERLINK("http://x.test","a, b")' and formula["country"] == "GB"


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_comes_from_the_header_line_only(delimiter):
    # Data rows full of the other delimiters, quoted, must not sway the choice.
    rows = [["a@example.org", "+447911123456", "x;y,z\tw", "B", "GB", "", "", "1;2;3;4;5,6,7,8\t9"]]
    raw = as_csv(rows, delimiter=delimiter)
    assert detect_delimiter(raw.decode()) == delimiter
    assert parse(raw).rows[0]["first_name"] == "x;y,z\tw"


def test_header_delimiter_inside_quotes_is_not_counted():
    assert detect_delimiter('"email;x",phone,first_name\n') == ","
    assert detect_delimiter("email\n") == ","


# --- property: random rows at random places in a large file come back identical ----------------------------------

NASTY = ['"', '""', ",", ";", "\t", "\n", "\r\n", "\r", "=", "+", "-", "@", "'", "=SUM(A1:A9)", "😀", "👩‍👩‍👧",
         "שלום", "مرحبا", "\u200f", "\u202e", "\ufeff", " ", "O'Brien", "é", "\\", "a"]
cell = st.lists(st.one_of(st.sampled_from(NASTY), st.text(st.characters(blacklist_categories=("Cs",),
                                                                          blacklist_characters="\x00"),
                                                          max_size=8)),
                max_size=6).map("".join)
row = st.lists(cell, min_size=len(COLUMNS), max_size=len(COLUMNS))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(specials=st.lists(row, min_size=1, max_size=12), seed=st.integers(0, 2**32 - 1),
       delimiter=st.sampled_from([",", ";", "\t"]), bom=st.booleans(),
       style=st.sampled_from([("\r\n", csv.QUOTE_MINIMAL), ("\r\n", csv.QUOTE_ALL), ("\n", csv.QUOTE_ALL)]))
def test_random_rows_anywhere_in_a_large_file_read_back_identical(specials, seed, delimiter, bom, style):
    assume(all(any(c.strip() for c in r) for r in specials))  # blank lines are skipped by design
    rows = plain_rows(1500)
    rng = random.Random(seed)
    for special in specials:
        rows.insert(rng.randrange(len(rows) + 1), special)
    raw = as_csv(rows, delimiter=delimiter, lineterminator=style[0], quoting=style[1], bom=bom)
    parsed = parse(raw)
    assert parsed.header == COLUMNS
    assert [[r[c] for c in COLUMNS] for r in parsed.rows] == rows


# --- end to end: through the import service into customers and notes ----------------------------------------------

STORED = ['O"Brien', 'She said "call me", then hung up', "=HYPERLINK(\"x\",\"y\")", "a,b;c\td", "Zoë 😀",
          "שלום עולם", "مرحبا", "line one\r\nline two\nthree", "''=x", "-1+1", "\ufeffbom inside"]


@pytest.mark.django_db
def test_import_stores_every_value_identical(demo):
    from customers.models import Customer
    from imports.services import import_create, import_process

    tricky = [[f"t{i}@example.org", f"+4479112{i:05d}", value[:80], f"L{i}{value}"[:80], "GB", "", "",
               f"note {value} end"] for i, value in enumerate(STORED)]
    raw = as_csv(plain_rows(120) + tricky, bom=True)
    job = import_create(by=demo["admin"], raw=raw, file_name="tricky.csv", rate_per_second=0)
    import_process(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED and job.rejected_rows == 0, list(
        job.rows.filter(status="rejected").values_list("row_number", "reason"))
    for email, _, first, last, _, _, _, comment in tricky:
        customer = Customer.objects.get(email=email)
        assert (customer.first_name, customer.last_name) == (first.strip(), last.strip())
        assert customer.notes.get().body == comment


# --- a rejections report, fixed, uploaded again as it is ------------------------------------------------------------


@pytest.mark.django_db
def test_fixed_rejections_file_uploads_again_as_it_is_issue_12(demo):
    from customers.models import Customer
    from imports.services import import_create, import_process, rejections_csv

    bad = [["fix1@example.org", "+447911250001", "Fix", "One", "XX", "", "", "=SUM(1,2)"],
           ["fix2@example.org", "+447911250002", "Fix", "Two", "ZZ", "", "", "'=quoted"]]
    job = import_create(by=demo["admin"], raw=as_csv(plain_rows(2, start=900) + bad), file_name="a.csv",
                        rate_per_second=0)
    import_process(job_id=job.pk)
    report = "".join(rejections_csv(ImportJob.objects.get(pk=job.pk)))
    assert report.splitlines()[0] == "row_number," + ",".join(COLUMNS) + ",reason"
    assert "'=SUM(1,2)" in report  # neutralized for spreadsheets
    fixed = report.replace(",XX,", ",GB,")  # the user fixes one row and uploads the file as it is
    again = import_create(by=demo["admin"], raw=fixed.encode(), file_name="a-fixed.csv", rate_per_second=0)
    assert [c for c in again.header if c] == COLUMNS
    assert not any("Ignored unknown columns" in m for m in again.messages)
    import_process(job_id=again.pk)
    again.refresh_from_db()
    assert (again.imported_rows, again.rejected_rows) == (1, 1), list(again.rows.values_list("reason", "data"))
    assert Customer.objects.get(email="fix1@example.org").notes.get().body == "=SUM(1,2)"  # the `'` is undone
    second = "".join(rejections_csv(again))
    assert second.splitlines()[0] == "row_number," + ",".join(COLUMNS) + ",reason"  # not doubled
    assert next(csv.reader(io.StringIO(second.splitlines()[1])))[-2] == "''=quoted"
