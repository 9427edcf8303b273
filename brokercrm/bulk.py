"""Set-based bulk writes for sanctioned bulk jobs (the lead import) on PostgreSQL.

`copy_insert(Model, columns, constants)` writes rows with one `COPY … FROM STDIN` (ids taken beforehand from the
table's sequence, so they are known without `RETURNING`): one list per varying column, one value per constant, and
every other concrete field filled with its model default (so a field added later with a default needs no change
here). Django's `bulk_create` builds and adapts a value per field and row in Python, which was most of an import's
time; an `INSERT … SELECT … FROM unnest(arrays)` (the form before, issue #16) cost the database more than COPY's
batched inserts. `json_rows(*columns)` passes a chunk's rows to a statement as one JSON parameter (the import's
outcomes and duplicates statements); `array_cursor()` binds array parameters on the server."""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection
from psycopg.adapt import PyFormat, Transformer


def array_cursor():
    """A cursor of Django's connection (same transaction; Django's wrapper: error mapping, execute wrappers, query
    logging) whose parameters are bound by the server — psycopg's `Cursor`, not the `ClientCursor` Django uses by
    default — for statements that take big array parameters: with `%b` placeholders each array travels in binary
    instead of being quoted into the SQL text in Python (quoting a chunk's 1,000-element arrays was about a fifth of
    an import's time). Never prepared, so a transaction-pooling proxy sees plain statements. PostgreSQL only."""
    connection.ensure_connection()
    return connection._prepare_cursor(_unprepared_cursor_class()(connection.connection))


@functools.cache
def _unprepared_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor

    class UnpreparedCursor(ServerBindingCursor):
        def execute(self, query, params=None, *, prepare=None, binary=None):
            return super().execute(query, params, prepare=False, binary=binary)

    return UnpreparedCursor


def json_rows(*columns: Sequence[Any]) -> str:
    """Parallel columns as one JSON array of rows (`[[a1, b1], [a2, b2], …]`), the parameter of a statement that
    reads them with `jsonb_array_elements(%s::jsonb) AS v(e)` and `v.e ->> 0`, `(v.e ->> 1)::bigint`, …: written by
    `json.dumps` in C, where psycopg dumps array parameters element by element in Python (1,000-element arrays a
    chunk cost a tenth of an import's Python). Values: str, int, bool or None (JSON null, read back as SQL NULL);
    text cannot hold NUL characters either way."""
    return json.dumps(list(zip(*columns, strict=True)), separators=(",", ":"))


def allocate_ids(model, count: int) -> list[int]:
    """`count` new primary keys from the model's own sequence (identity or serial), in one statement: what the
    column's default would have taken (the name is looked up once, in a sub-select, not per row)."""
    if count <= 0:
        return []
    table, column = model._meta.db_table, model._meta.pk.column
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval((SELECT pg_get_serial_sequence(%s, %s))::regclass) "
                       "FROM generate_series(1, %s)", [table, column, count])
        return [row[0] for row in cursor.fetchall()]


def copy_insert(model, columns: dict[str, Sequence[Any]], constants: dict[str, Any] | None = None, *,
                ids: list[int] | None = None) -> list[int]:
    """Insert one row per position of the `columns` lists (keyed by attname) with one `COPY … FROM STDIN`; returns the
    new ids in that order (taken beforehand with `allocate_ids`, or the given `ids`). Every other concrete field gets
    its constant or its model default, prepared once by the field as the ORM would. COPY is PostgreSQL's fastest
    write path (rows inserted in batches; psycopg formats each row in C): the issue's anchor itself. A unique
    violation raises Django's IntegrityError, as an INSERT would."""
    constants = constants or {}
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError("every column needs one value per row")
    count = lengths.pop()
    if not count:
        return []
    if ids is None:
        ids = allocate_ids(model, count)
    elif len(ids) != count:
        raise ValueError("one id per row")
    names = [connection.ops.quote_name(model._meta.pk.column)]
    varying: list[Iterable[Any]] = [ids]
    with connection.wrap_database_errors, connection.cursor() as cursor:
        text = Transformer(cursor.cursor)
        for field in model._meta.concrete_fields:
            if field.primary_key:
                continue
            names.append(connection.ops.quote_name(field.column))
            if field.attname in columns:
                # Values go as they are (str, int, bool, None, datetime): psycopg's COPY formats them.
                varying.append(columns[field.attname])
            else:
                # A constant is prepared by its field and put in its text form once (a JSON value would otherwise
                # be serialized again for every row).
                value = field.get_db_prep_save(
                    constants[field.attname] if field.attname in constants else field.get_default(), connection)
                if value is not None:
                    value = bytes(text.get_dumper(value, PyFormat.TEXT).dump(value)).decode()
                varying.append(itertools.repeat(value, count))
        sql = f"COPY {connection.ops.quote_name(model._meta.db_table)} ({', '.join(names)}) FROM STDIN"
        with cursor.copy(sql) as copy:
            for row in zip(*varying, strict=True):
                copy.write_row(row)
    return list(ids)

