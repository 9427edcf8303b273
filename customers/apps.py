from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self):
        from celery.schedules import crontab

        from brokercrm.celery import app

        app.conf.beat_schedule["customers.retention_classify"] = {
            "task": "customers.retention_classify",
            "schedule": crontab(minute=15),  # hourly: cheap, and classes move within the hour of a threshold
        }
