"""Check-then-write races on unique values (found by the schema fuzzer: two roles' runs posted the same template name
at once and one got a 500). The unique constraint decides; the loser gets the check's own error, and a violation no
service catches is answered 409 `conflict`, never 500."""

from __future__ import annotations

import json
import sqlite3
import threading

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, close_old_connections, connection, transaction
from django.test import RequestFactory

from brokercrm.errors import DomainError
from brokercrm.middleware import JsonErrorMiddleware
from brokercrm.uniques import is_unique_violation, unique_or
from comms.models import EmailTemplate
from comms.services import template_create
from teams.models import Role
from teams.services import role_create, user_create


def _violation() -> IntegrityError:
    """A real unique violation from the database, caught."""
    EmailTemplate.objects.create(name="taken")
    try:
        with transaction.atomic():
            EmailTemplate.objects.create(name="taken")
    except IntegrityError as exc:
        return exc
    raise AssertionError("no violation")


@pytest.mark.django_db
def test_unique_or_raises_the_checks_error_and_leaves_the_transaction_usable():
    EmailTemplate.objects.create(name="welcome")
    taken = DomainError("A template with this name exists.", fields={"name": ["taken"]})
    with pytest.raises(DomainError) as raised, unique_or(taken):
        EmailTemplate.objects.create(name="welcome")
    assert raised.value is taken
    assert EmailTemplate.objects.filter(name="welcome").count() == 1  # the savepoint rolled back, the rest goes on


@pytest.mark.django_db
def test_other_integrity_errors_go_through_unchanged():
    with pytest.raises(IntegrityError) as raised, unique_or(DomainError("never")):
        Role.objects.create(name=None)  # NOT NULL, not unique
    assert not is_unique_violation(raised.value)
    assert not is_unique_violation(ValueError("UNIQUE constraint failed"))


def test_sqlites_unique_violation_is_recognised():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (name TEXT UNIQUE NOT NULL)")
    db.execute("INSERT INTO t VALUES ('a')")
    for statement in ("INSERT INTO t VALUES ('a')", "INSERT INTO t VALUES (NULL)"):
        try:
            db.execute(statement)
        except sqlite3.IntegrityError as cause:
            wrapped = IntegrityError(*cause.args)
            wrapped.__cause__ = cause  # as Django's error wrapper raises it
            assert is_unique_violation(wrapped) is ("NULL" not in statement)


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/api/platform/email-templates", "/comms/templates/new"])
def test_an_uncaught_violation_is_a_409_not_a_500(path):
    request = RequestFactory().post(path)
    response = JsonErrorMiddleware(lambda r: None).process_exception(request, _violation())
    assert response is not None and response.status_code == 409
    if path.startswith("/api/"):
        assert json.loads(response.content)["code"] == "conflict"
    else:
        assert b"concurrent request" in response.content


def _create_template(name, by):
    template_create(kind="email", name=name)


def _create_role(name, by):
    role_create(by=by, name=name, permissions=[])


def _create_user(name, by):
    user_create(by=by, email=f"{name.replace(' ', '-')}@example.org", password="Race-condition-password-1")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("create, field", [(_create_template, "name"), (_create_role, "name"), (_create_user, "email")])
def test_concurrent_creates_of_one_value_give_one_row_and_the_checks_error(create, field):
    """Eight threads create the same name (or email) at once, ten times: one row each time, the others get the
    check's 400 on the field (whether their check ran before or after the winner's insert), never an
    IntegrityError."""
    admin = get_user_model().objects.create_superuser(email="root@example.org", password="Root-password-123")
    for round_ in range(10):
        name = f"race {round_}"
        barrier = threading.Barrier(8)
        outcomes: list[str] = []

        def run(name, barrier, outcomes):
            try:
                barrier.wait()
                create(name, admin)
                outcomes.append("created")
            except DomainError as exc:
                assert exc.status == 400 and list(exc.fields or {}) == [field], (exc.detail, exc.fields)
                outcomes.append("taken")
            except Exception as exc:  # noqa: BLE001 - the test's point: nothing else may escape
                outcomes.append(type(exc).__name__)
            finally:
                close_old_connections()
                connection.close()

        threads = [threading.Thread(target=run, args=(name, barrier, outcomes)) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes) == ["created"] + ["taken"] * 7, outcomes
