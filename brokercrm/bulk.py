"""Set-based bulk inserts for sanctioned bulk jobs (the lead import) on PostgreSQL.

`insert_select(Model, columns, constants)` is one `INSERT … SELECT … FROM unnest(%s::type[], …) RETURNING id`:
one array parameter per varying column, one parameter per constant, and every other concrete field filled with its
model default (so a field added later with a default needs no change here). Django's `bulk_create` builds and
adapts a value per field and row in Python, which was most of an import's time."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from django.db import connection


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


def insert_select(model, columns: dict[str, Sequence[Any]], constants: dict[str, Any] | None = None) -> list[int]:
    """Insert one row per position of the `columns` arrays (keyed by attname); returns the new ids in that order
    (PostgreSQL inserts the rows of an `unnest` in order, which Django's own bulk_create relies on too)."""
    constants = constants or {}
    lengths = {len(values) for values in columns.values()}
    if len(lengths) != 1:
        raise ValueError("every column needs one value per row")
    if not lengths.pop():
        return []
    names, arrays, selects, params = [], [], [], []
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        db_type = field.rel_db_type(connection) if field.is_relation else field.db_type(connection)
        names.append(connection.ops.quote_name(field.column))
        if field.attname in columns:
            # Values go as they are (str, int, bool, None, datetime): preparing each one was the cost avoided here.
            arrays.append((f"%b::{db_type}[]", list(columns[field.attname])))
            selects.append(f"u.c{len(arrays) - 1}")
        else:
            value = constants[field.attname] if field.attname in constants else field.get_default()
            selects.append(f"%s::{db_type}")
            params.append(field.get_db_prep_save(value, connection))
    table = connection.ops.quote_name(model._meta.db_table)
    unnest = ", ".join(a for a, _ in arrays)
    aliases = ", ".join(f"c{i}" for i in range(len(arrays)))
    sql = (f"INSERT INTO {table} ({', '.join(names)}) SELECT {', '.join(selects)} "
           f"FROM unnest({unnest}) AS u({aliases}) RETURNING id")
    # The constants appear in the SELECT list, before the FROM: their parameters come first.
    with array_cursor() as cursor:
        cursor.execute(sql, [*params, *[values for _, values in arrays]])
        return [row[0] for row in cursor.fetchall()]
