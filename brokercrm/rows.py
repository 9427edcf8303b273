"""Model rows read and written by fixed SQL, for the hottest statements of a request (the token lookup, a posting's
locked account and its INSERTs): the ORM compiles its query on every call, and for these that compilation cost more
CPU than the rest of the statement's work.

- `JoinedRow` names the models of one joined row; the statement around it is written once per process by its
  caller, and the row is turned into models as the ORM would (`Model.from_db`, each field's converters). Nothing is
  cached but the SQL text: the rows are read on every call.
- `insert_sql(objs)` / `insert_one(obj)` write unsaved instances as `save()`/`bulk_create` would (each value
  prepared by its field, `auto_now` and the like applied by `pre_save`), without signals, as `bulk_create`.
- `fixed_cursor()` runs such statements as prepared statements on PostgreSQL (planned once per connection)."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from functools import cache, cached_property
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model


def fixed_cursor():
    """A cursor of Django's connection (same transaction; Django's wrapper: error mapping, execute wrappers, query
    logging) for this module's fixed statements. On PostgreSQL it is psycopg's server-binding cursor and each of
    its statements is prepared on the connection at its first use, so the server plans it once per connection
    instead of on every call (planning was a third of a posting's database CPU; the pool keeps the connections).

    Only these statements are prepared: Django keeps psycopg's preparing off for the connection (threshold None,
    so psycopg tracks no other query) and the cursor turns it on for its own call alone. A ROLLBACK makes psycopg
    forget (and deallocate) the connection's prepared statements; they are prepared again at their next use.
    `DATABASE_PREPARED_STATEMENTS=false` turns all this off (behind a transaction-pooling proxy that cannot keep
    prepared statements: PgBouncer before 1.22, or without `max_prepared_statements`); Django's own cursor is used
    then, and on SQLite.

    The psycopg cursor is made once per database connection and kept on it (pooled connections keep theirs), so
    a call pays for neither a new cursor nor its copy of the adapters; closing Django's wrapper leaves it open. Each
    call runs and reads its statement inside its `with`; a fixed statement run inside another's `with` gets a
    cursor of its own (closed after), so the other's unread rows stay. A connection serves one thread at a time.
    In UTC (Django's session zone here) it reads timestamptz columns with psycopg's C loader, not Django's Python
    one: the same aware datetimes in `datetime.timezone.utc`."""
    if connection.vendor != "postgresql" or not settings.DATABASE_PREPARED_STATEMENTS:
        return connection.cursor()
    connection.ensure_connection()
    raw = connection.connection
    cursor = raw.__dict__.get("_brokercrm_fixed_cursor")
    if cursor is None:
        cursor = raw._brokercrm_fixed_cursor = _prepared_cursor_class()(raw)
        cursor.kept = True
        _read_timestamptz_in_c(cursor)
    if cursor.in_use:  # a fixed statement inside another's `with`: a cursor of its own, so the other's rows stay
        cursor = _prepared_cursor_class()(raw)
        _read_timestamptz_in_c(cursor)
    cursor.in_use = True
    return connection._prepare_cursor(cursor)


def _read_timestamptz_in_c(cursor) -> None:
    """Django registers, for its session zone, a Python subclass of psycopg's pure-Python timestamptz loader: it
    parses the text, then sets the tzinfo to Django's zone. When both zones are UTC, psycopg's own loader (in C with
    psycopg[binary]) gives the same aware datetime, `datetime.timezone.utc` included, for a few microseconds less
    per value (a posting's locked read has about twenty). Only on this module's cursor: Django's cursors read the
    connection's loader's `timezone`, which the C class does not have."""
    import psycopg
    from psycopg.pq import Format

    oid = psycopg.adapters.types["timestamptz"].oid
    loader = psycopg.adapters.get_loader(oid, Format.TEXT)
    if (loader is None or loader.__module__.startswith("psycopg.")  # the pure-Python one: keep Django's
            or connection.timezone is not datetime.UTC
            or cursor.connection.info.parameter_status("TimeZone") != "UTC"):
        return
    cursor.adapters.register_loader(oid, loader)


@cache
def _prepared_cursor_class():
    from django.db.backends.postgresql.base import ServerBindingCursor
    from psycopg import errors
    from psycopg.pq import TransactionStatus

    class PreparedCursor(ServerBindingCursor):
        kept = False  # the connection's kept cursor (see `fixed_cursor`)
        in_use = False  # handed out, its `with` not ended yet

        def close(self):
            """The kept cursor stays open for the connection's next fixed statement (it goes with the connection);
            any other really closes."""
            self.in_use = False
            if not self.kept:
                super().close()

        def execute(self, query, params=None, *, prepare=None, binary=None):
            conn = self.connection
            previous, conn.prepare_threshold = conn.prepare_threshold, 2**31 - 1  # explicit preparing only
            try:
                try:
                    return super().execute(query, params, prepare=True, binary=binary)
                except errors.FeatureNotSupported:
                    # "cached plan must not change result type": a column the statement returns changed type since
                    # it was prepared (a migration ran meanwhile). Outside a transaction, forget the connection's
                    # prepared statements (psycopg clears its cache on DEALLOCATE ALL) and run it once more; in a
                    # transaction the error aborts it, and its ROLLBACK clears them for the next request.
                    if conn.info.transaction_status != TransactionStatus.IDLE:
                        raise
                    super().execute("DEALLOCATE ALL", prepare=False)
                    return super().execute(query, params, prepare=True, binary=binary)
            finally:
                conn.prepare_threshold = previous

        def _send_query_prepared(self, name, pgq, *, binary=None):
            # psycopg records the statement it ran (what Django's query log and CaptureQueriesContext read) only
            # for unprepared executions; record it for prepared ones too ($1, $2, … in place of the values).
            self._query = pgq
            return super()._send_query_prepared(name, pgq, binary=binary)

    return PreparedCursor


class JoinedRow:
    """`JoinedRow(("a", TradingAccount), ("c", Customer))`: every concrete column of each model, in the order given,
    under the alias given (the caller's FROM and JOIN clauses use the same aliases)."""

    def __init__(self, *parts: tuple[str, type[Model]]):
        self.parts = parts

    @cached_property
    def columns(self) -> str:
        """The select list: `a."id", a."login", …, c."id", …`."""
        q = connection.ops.quote_name
        return ", ".join(f"{alias}.{q(f.column)}" for alias, model in self.parts
                         for f in model._meta.concrete_fields)

    @cached_property
    def _layout(self) -> list[tuple[type[Model], list[str], list]]:
        layout = []
        for _alias, model in self.parts:
            fields = model._meta.concrete_fields
            # the backend's converters first, then the field's: the order of Django's compiler
            converters = [(i, [*connection.ops.get_db_converters(f.cached_col), *f.get_db_converters(connection)],
                           f.cached_col) for i, f in enumerate(fields)]
            layout.append((model, [f.attname for f in fields], [c for c in converters if c[1]]))
        return layout

    def models(self, row) -> list[Any]:
        """One model per part from a fetched row; None for a part whose primary key is NULL (an outer join that
        found nothing). The primary key must be each model's first concrete field (Django puts it first)."""
        conn = connections[DEFAULT_DB_ALIAS]
        objects: list[Any] = []
        start = 0
        for model, names, converters in self._layout:
            values = list(row[start:start + len(names)])
            start += len(names)
            if values[0] is None:
                objects.append(None)
                continue
            for i, funcs, expression in converters:
                for func in funcs:
                    values[i] = func(values[i], expression, conn)
            objects.append(model.from_db(conn.alias, names, values))
        return objects


@cache
def _insert_head(model: type[Model], with_pk: bool) -> tuple[str, list]:
    q = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if with_pk or not f.primary_key]
    columns = ", ".join(q(f.column) for f in fields)
    return f"INSERT INTO {q(model._meta.db_table)} ({columns}) VALUES ", fields


def insert_sql(objs: Sequence[Model], *, with_pk: bool = False) -> tuple[str, list]:
    """`INSERT INTO … VALUES …` of unsaved instances of one model: their primary keys from the column's default, or
    (`with_pk`) the ones they were given (taken from the table's sequence beforehand). Then `mark_saved` them.

    A NULL is written as the keyword, not as a parameter: the statement keeps few enough parameters (≤ 50) for
    psycopg to cache its parsing, and its text only varies with which columns are NULL."""
    head, fields = _insert_head(type(objs[0]), with_pk)
    conn = connections[DEFAULT_DB_ALIAS]  # the connection itself, not the proxy: the fields read it per value
    rows, params = [], []
    for obj in objs:
        marks = []
        for f in fields:
            value = f.get_db_prep_save(f.pre_save(obj, True), conn)
            if value is None:
                marks.append("NULL")
            else:
                marks.append("%s")
                params.append(value)
        rows.append("(" + ", ".join(marks) + ")")
    return head + ", ".join(rows), params


def insert_one(obj: Model) -> None:
    """Insert `obj` and give it its primary key, as `obj.save()` on a new instance (no signals)."""
    sql, params = insert_sql([obj])
    pk = obj._meta.pk
    with fixed_cursor() as cursor:
        if connection.features.can_return_columns_from_insert:
            cursor.execute(f"{sql} RETURNING {connection.ops.quote_name(pk.column)}", params)
            obj.pk = cursor.fetchone()[0]
        else:
            cursor.execute(sql, params)
            obj.pk = connection.ops.last_insert_id(cursor, obj._meta.db_table, pk.column)
    mark_saved(obj)


def mark_saved(obj: Model) -> None:
    """What `save()` records on an instance it inserted: it is in the database now; a django-fsm
    `ConcurrentTransitionMixin` model also records its initial states (its next save checks them)."""
    obj._state.adding = False
    obj._state.db = connection.alias
    if hasattr(obj, "_update_initial_state"):
        obj._update_initial_state()
