"""Queues by kind with `make run`'s real processes (scripts/run.sh) on PostgreSQL + Redis (issue #12).

The smaller size of `manage.py bench_queues`: 2,000 sends queued and a paced import running; a webhook's credit
still lands within a second and a second import leaves the queue within 2 s and ends on its pace."""

from __future__ import annotations

import pytest
from django.conf import settings

from devtools import queuebench
from devtools.testing import process_env

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow,
              pytest.mark.skipif(not settings.REDIS_URL, reason="the workers need the Redis broker")]


def test_routes_by_kind():
    from brokercrm.celery import app

    route = app.amqp.router.route
    assert route({}, "comms.message_send")["queue"].name == "comms"
    assert route({}, "comms.workflow_run")["queue"].name == "comms"
    assert route({}, "comms.anything_new")["queue"].name == "comms"
    assert route({}, "imports.process")["queue"].name == "imports"
    for name in ("imports.resume_stale", "crm.tasks_flag_overdue", "customers.retention_classify",
                 "brokercrm.worker_ping"):
        assert route({}, name)["queue"].name == "default", name
    # Redis serves the lower number first: a send before a workflow run's fan-out.
    assert route({}, "comms.message_send")["priority"] < route({}, "comms.workflow_run")["priority"]


def test_no_kind_starves_another_with_run_sh(demo_committed, tmp_path):
    env = queuebench.run_sh_env(process_env(REDIS_URL=settings.REDIS_URL), tmp_path)
    figures = queuebench.run(env=env, log_path=tmp_path / "run.log", import_rows=2000, comms_tasks=2000,
                             seconds=14, second_after=3, probe_every=4)
    print("\n".join(figures.lines()))
    assert figures.comms_queued_at_start > 1000  # the sends really were waiting …
    assert figures.comms_queued_at_end > 0, figures  # … for the whole window
    assert figures.webhook_credit_s and max(figures.webhook_credit_s) < 1.0, figures.webhook_credit_s
    assert figures.second_import_status == "completed", figures
    assert figures.second_import_start_s < 2.0, figures
    assert 5.0 <= figures.second_import_total_s <= 7.5, figures
    assert 8 <= figures.big_import_rows_per_s <= 11, figures  # the big one kept its pace meanwhile
    assert figures.stop_s < 10, figures


def test_routes_hold_on_the_embedded_filesystem_broker(tmp_path):
    """The embedded default's broker files each message under its queue's name (what `-Q` workers read)."""
    from brokercrm.celery import app

    folders = {"data_folder_in": str(tmp_path), "data_folder_out": str(tmp_path),
               "control_folder": str(tmp_path / "control")}
    (tmp_path / "control").mkdir()
    with app.connection_for_write("filesystem://", transport_options=folders) as conn:
        for name in ("comms.message_send", "comms.workflow_run", "imports.process", "crm.tasks_flag_overdue"):
            app.send_task(name, kwargs={}, connection=conn)
    queues = sorted(p.name.split(".")[-2] for p in tmp_path.glob("*.msg"))
    assert queues == ["comms", "comms", "default", "imports"]
