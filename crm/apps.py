from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Agent workspace"

    def ready(self):
        from brokercrm.celery import app

        app.conf.beat_schedule["crm.tasks_flag_overdue"] = {"task": "crm.tasks_flag_overdue", "schedule": 60.0}

        import os

        if os.environ.get("BROKERCRM_INPROCESS_SIMULATOR") == "true":
            from .trading.simulator import start_in_process

            start_in_process()
