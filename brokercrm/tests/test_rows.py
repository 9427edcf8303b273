"""brokercrm.rows: fixed SQL for the hottest statements — models built as the ORM builds them, INSERTs as `save()`
writes them, and (PostgreSQL) prepared once per connection unless DATABASE_PREPARED_STATEMENTS is off."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from brokercrm.rows import JoinedRow, fixed_cursor, insert_one
from teams.models import Role, Team, User

pytestmark = pytest.mark.django_db

ROW = JoinedRow(("u", User), ("r", Role), ("m", Team))
SQL = (f"SELECT {ROW.columns} FROM teams_user u LEFT JOIN teams_role r ON r.id = u.role_id "
       "LEFT JOIN teams_team m ON m.id = u.team_id WHERE u.email = %s")


def _read(email):
    with fixed_cursor() as cursor:
        cursor.execute(SQL, [email])
        return ROW.models(cursor.fetchone())


def test_a_joined_row_builds_the_models_the_orm_builds():
    role = Role.objects.create(name="r-rows", permissions=["customers.view"], customer_view_scope="team")
    team = Team.objects.create(name="T-rows")
    user = User.objects.create_user(email="rows@example.com", password="x" * 12, role=role, team=team)
    loner = User.objects.create_user(email="loner@example.com", password="x" * 12)
    got_user, got_role, got_team = _read(user.email)
    orm = User.objects.select_related("role", "team").get(pk=user.pk)
    for got, want in ((got_user, orm), (got_role, orm.role), (got_team, orm.team)):
        assert type(got) is type(want) and not got._state.adding
        assert {f.attname: getattr(got, f.attname) for f in want._meta.concrete_fields} == {
            f.attname: getattr(want, f.attname) for f in want._meta.concrete_fields}
    assert got_role.permissions == ["customers.view"]  # JSON converted, as the ORM converts it
    assert _read(loner.email)[1:] == [None, None]  # outer joins that found nothing


def test_insert_one_writes_what_save_writes():
    team = Team(name="T-insert")
    insert_one(team)
    assert team.pk and not team._state.adding
    stored = Team.objects.get(pk=team.pk)
    assert (stored.name, stored.parent_id, stored.created_at) == ("T-insert", None, team.created_at)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_fixed_statements_are_prepared_once_per_connection_and_logged():
    User.objects.create_user(email="prep@example.com", password="x" * 12)

    def prepared():
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", [f"{SQL[:40]}%"])
            return cursor.fetchone()[0]

    with CaptureQueriesContext(connection) as captured:
        for _ in range(3):
            assert _read("prep@example.com")[0].email == "prep@example.com"
    assert prepared() == 1  # one statement, prepared at its first use, reused after
    assert all(q["sql"].startswith("SELECT u.") and "$1" in q["sql"] for q in captured.captured_queries)
    with override_settings(DATABASE_PREPARED_STATEMENTS=False):
        with fixed_cursor() as cursor:
            cursor.execute("SELECT 42 AS rows_unprepared")
            assert cursor.fetchone() == (42,)
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%rows_unprepared%'")
            assert cursor.fetchone() == (0,)


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
def test_only_the_fixed_statements_are_prepared():
    """Django keeps psycopg's preparing off for the connection (nothing else is prepared or tracked); the fixed
    cursor turns it on for its own call only."""
    User.objects.create_user(email="only@example.com", password="x" * 12)
    _read("only@example.com")
    raw = connection.connection
    assert raw.prepare_threshold is None
    list(User.objects.filter(email="only@example.com"))
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        statements = [row[0] for row in cursor.fetchall()]
    assert statements and all(s.startswith("SELECT u.") for s in statements), statements


@pytest.mark.skipif(connection.vendor != "postgresql", reason="prepared statements are PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_column_type_changed_by_a_migration_does_not_break_a_prepared_read():
    """PostgreSQL refuses a prepared plan whose result type changed ("cached plan must not change result type"):
    outside a transaction the cursor deallocates and runs the statement again."""
    import psycopg

    User.objects.create_user(email="ddl@example.com", password="x" * 12)
    assert _read("ddl@example.com")[0].email == "ddl@example.com"  # prepared now
    settings = connection.settings_dict
    other = psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                            password=settings["PASSWORD"], dbname=settings["NAME"], autocommit=True)
    length = User._meta.get_field("first_name").max_length
    try:
        other.execute(f'ALTER TABLE teams_user ALTER COLUMN first_name TYPE varchar({length + 1})')
        for _ in range(2):
            assert _read("ddl@example.com")[0].email == "ddl@example.com"
    finally:
        other.execute(f'ALTER TABLE teams_user ALTER COLUMN first_name TYPE varchar({length})')
        other.close()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the kept cursor is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_the_fixed_cursor_is_kept_per_connection_and_reads_timestamps_in_utc():
    import datetime

    user = User.objects.create_user(email="kept@example.com", password="x" * 12)
    User.objects.filter(pk=user.pk).update(last_login=datetime.datetime(2026, 3, 29, 0, 59, 58, 123456,
                                                                      tzinfo=datetime.UTC))
    with fixed_cursor() as first:
        first.execute("SELECT 1")
        first.fetchone()
    with fixed_cursor() as second:
        assert second.cursor is first.cursor and not second.cursor.closed  # the same psycopg cursor, still open
    mine = _read("kept@example.com")[0]
    orm = User.objects.get(pk=user.pk)
    for name in ("last_login", "date_joined"):
        ours, theirs = getattr(mine, name), getattr(orm, name)
        assert ours == theirs and ours.tzinfo is theirs.tzinfo is datetime.UTC, name
    assert mine.last_login.isoformat() == "2026-03-29T00:59:58.123456+00:00"
    # A new connection (the pool hands out another, or the same one again) gets a working cursor.
    connection.close()
    assert _read("kept@example.com")[0].pk == user.pk


@pytest.mark.skipif(connection.vendor != "postgresql", reason="the kept cursor is PostgreSQL's")
def test_a_fixed_statement_inside_another_keeps_the_outer_rows():
    """The independent review's case: the kept cursor is handed out once at a time; a nested `with` gets a cursor
    of its own, and after both the kept one serves again."""
    with fixed_cursor() as outer:
        outer.execute("SELECT g FROM generate_series(1, 3) g")
        with fixed_cursor() as inner:
            assert inner.cursor is not outer.cursor
            inner.execute("SELECT 'inner'")
            assert inner.fetchone() == ("inner",)
        assert inner.cursor.closed and not outer.cursor.closed
        assert outer.fetchall() == [(1,), (2,), (3,)]
    with fixed_cursor() as again:
        assert again.cursor is outer.cursor
