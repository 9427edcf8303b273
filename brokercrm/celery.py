"""The Celery app: Redis broker in production, a filesystem broker in the embedded default (see settings).

Queues by kind, so no kind of work starves another (issue #12):
- `default`: events, housekeeping and beat jobs (overdue check, retention, import watchdog, diagnostics);
- `comms`: sends and workflow runs (a bulk import's fan-out waits here, not in front of everything else);
- `imports`: import chunks, each scheduled (ETA) for its slot of the job's pace instead of sleeping in a worker.
Every worker names its queues with `-Q` (`scripts/run.sh`, docs/readme/operations.md). Within a queue, on Redis,
a lower priority number is served first: a single send (0) goes before a workflow run (6), so a fan-out of
thousands of runs does not delay the e-mails that runs already produced or an agent's own send.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Exchange, Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")

QUEUES = ("default", "comms", "imports")

app = Celery("brokercrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_default_queue = "default"
app.conf.task_queues = [Queue(name, Exchange(name), routing_key=name) for name in QUEUES]
# Exact names first, then patterns: a new `comms.*` or `imports.*` task lands on its kind's queue by itself.
app.conf.task_routes = [{
    "imports.resume_stale": {"queue": "default"},
    "comms.message_send": {"queue": "comms", "priority": 0},
    "comms.workflow_run": {"queue": "comms", "priority": 6},
    "comms.*": {"queue": "comms", "priority": 3},
    "imports.*": {"queue": "imports"},
}]
app.autodiscover_tasks()
app.conf.beat_schedule = {}  # each app adds its own entries in its AppConfig.ready()
