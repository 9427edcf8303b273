"""Check-then-write races on unique values: the database's unique constraint has the last word.

A service checks that a name or an email is free, then writes it; a concurrent request can write the same value in
between, and the write then fails on the unique constraint. `unique_or(error)` runs the write in a savepoint and
raises the same domain error the check raises; a violation nothing catches is answered `409 conflict` by
`brokercrm.middleware.JsonErrorMiddleware` (never a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import IntegrityError, transaction

from .errors import DomainError


def is_unique_violation(exc: BaseException) -> bool:
    """Whether an IntegrityError is a unique (or primary key) violation, on PostgreSQL or SQLite."""
    if not isinstance(exc, IntegrityError):
        return False
    cause = exc.__cause__
    if getattr(cause, "sqlstate", None) == "23505":  # psycopg: unique_violation
        return True
    name = getattr(cause, "sqlite_errorname", "")  # sqlite3 (Python 3.11+)
    return name in ("SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY")


@contextmanager
def unique_or(error: DomainError) -> Iterator[None]:
    """Run the block in a savepoint; a unique violation inside it raises `error` (the rest of the transaction
    stays usable), any other error goes through unchanged."""
    try:
        with transaction.atomic():
            yield
    except IntegrityError as exc:
        if not is_unique_violation(exc):
            raise
        raise error from None
