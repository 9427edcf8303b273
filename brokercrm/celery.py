"""The Celery app: Redis broker in production, a filesystem broker in the embedded default (see settings)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "brokercrm.settings")

app = Celery("brokercrm")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
app.conf.beat_schedule = {}  # each app adds its own entries in its AppConfig.ready()
