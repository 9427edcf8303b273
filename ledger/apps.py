from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"

    def ready(self):
        # Imports inside ready(), not at module level: Django imports apps.py while it populates the app registry,
        # before any models module may be imported (the modules imported here import models).
        from celery.schedules import crontab

        from brokercrm.celery import app

        from . import (
            conf,  # noqa: F401  (production refuses to start without the secrets of enabled features)
            fx,  # noqa: F401  (registers ledger.fx_rates_update)
        )

        # The ECB publishes once per working day around 16:00 CET; hourly on weekdays catches it within the hour
        # and retries a failed fetch without waiting for the next day.
        app.conf.beat_schedule["ledger.fx_rates_update"] = {
            "task": "ledger.fx_rates_update",
            "schedule": crontab(minute=20, day_of_week="mon-fri"),
        }

        # In-transaction hooks of customers (below ledger): a registration or bulk import opens trading accounts
        # in its own transaction. Imported here because services need the app registry.
        from customers.signals import customer_created, customers_created_bulk

        from .receivers import on_customer_created, on_customers_created_bulk

        customer_created.connect(on_customer_created, dispatch_uid="ledger.account_open")
        customers_created_bulk.connect(on_customers_created_bulk, dispatch_uid="ledger.accounts_open_bulk")

        # The client area's money panel (customers' home page takes panels from the apps above it).
        from customers.clientarea import client_home_context_register

        from .selectors import client_money_overview

        client_home_context_register("ledger.money", client_money_overview)
