from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"

    def ready(self):
        from brokercrm.celery import app

        from . import tasks  # noqa: F401  (registers the worker_ready handler)

        app.conf.beat_schedule["imports.resume_stale"] = {"task": "imports.resume_stale", "schedule": 30.0}
