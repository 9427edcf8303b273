from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "imports"

    def ready(self):
        # Imports inside ready(), not at module level: Django imports apps.py while it populates the app registry,
        # before any models module may be imported (the modules imported here import models).
        from brokercrm.celery import app

        from . import tasks  # noqa: F401  (registers the worker_ready handler)

        app.conf.beat_schedule["imports.resume_stale"] = {"task": "imports.resume_stale", "schedule": 30.0}
