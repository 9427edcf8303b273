"""Model rows read and written by fixed SQL, for the hottest statements of a request (the token lookup, a posting's
locked account and its INSERTs): the ORM compiles its query on every call, and for these that compilation cost more
CPU than the rest of the statement's work.

- `JoinedRow` names the models of one joined row; the statement around it is written once per process by its
  caller, and the row is turned into models as the ORM would (`Model.from_db`, each field's converters). Nothing is
  cached but the SQL text: the rows are read on every call.
- `insert_sql(objs)` / `insert_one(obj)` write unsaved instances as `save()`/`bulk_create` would (each value
  prepared by its field, `auto_now` and the like applied by `pre_save`), without signals, as `bulk_create`."""

from __future__ import annotations

from functools import cache, cached_property

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model


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
            converters = [(i, [*f.get_db_converters(connection), *connection.ops.get_db_converters(f.cached_col)],
                           f.cached_col) for i, f in enumerate(fields)]
            layout.append((model, [f.attname for f in fields], [c for c in converters if c[1]]))
        return layout

    def models(self, row) -> list[Model | None]:
        """One model per part from a fetched row; None for a part whose primary key is NULL (an outer join that
        found nothing). The primary key must be each model's first concrete field (Django puts it first)."""
        conn = connections[DEFAULT_DB_ALIAS]
        objects: list[Model | None] = []
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


def insert_sql(objs: list[Model], *, with_pk: bool = False) -> tuple[str, list]:
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
    with connection.cursor() as cursor:
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
