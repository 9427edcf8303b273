"""Migration 0003: rows that earlier imports marked `imported` are deleted, pending and rejected ones stay."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("imports", "0002_import_row_claim_pending_only")]
AFTER = [("imports", "0003_imported_rows_leave_staging")]


@pytest.mark.django_db(transaction=True)
def test_imported_rows_are_deleted_and_the_others_kept():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps
    user = get_user_model().objects.create_user(email="m@example.org", password="!x-long-enough-1")
    job = old.get_model("imports", "ImportJob").objects.create(
        created_by_id=user.pk, file_name="t.csv", status="completed", total_rows=3, rate_per_second=0, header=["email"])
    rows = old.get_model("imports", "ImportRow")
    rows.objects.bulk_create([
        rows(job=job, row_number=1, data={"email": "a@example.org"}, status="imported", customer_id=7),
        rows(job=job, row_number=2, data={"email": "b"}, status="rejected", reason="validation_error: x"),
        rows(job=job, row_number=3, data={"email": "c@example.org"}, status="pending"),
    ])
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("imports", "ImportRow")
    assert sorted(new.objects.values_list("row_number", "status", "reason")) == [
        (2, "rejected", "validation_error: x"), (3, "pending", "")]
