from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"

    def ready(self):
        from . import conf  # noqa: F401  (production refuses to start without the secrets of enabled features)

        from celery.schedules import crontab

        from brokercrm.celery import app

        from . import fx  # noqa: F401  (registers ledger.fx_rates_update)

        # The ECB publishes once per working day around 16:00 CET; hourly on weekdays catches it within the hour
        # and retries a failed fetch without waiting for the next day.
        app.conf.beat_schedule["ledger.fx_rates_update"] = {
            "task": "ledger.fx_rates_update",
            "schedule": crontab(minute=20, day_of_week="mon-fri"),
        }
