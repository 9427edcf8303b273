from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "customers"

    def ready(self):
        # Imports inside ready(), not at module level: Django imports apps.py while it populates the app registry,
        # before any models module may be imported (the modules imported here import models).
        from celery.schedules import crontab

        from brokercrm.celery import app

        app.conf.beat_schedule["customers.retention_classify"] = {
            "task": "customers.retention_classify",
            "schedule": crontab(minute=15),  # hourly: cheap, and classes move within the hour of a threshold
        }
        app.conf.beat_schedule["customers.kyc_expiry_scan"] = {
            "task": "customers.kyc_expiry_scan", "schedule": crontab(hour=3, minute=30),  # daily; flags once each
        }

        # Registries of teams (below customers): who an audit entry is about (PII redaction), and the client
        # area's page for a locked-out login. Imported here because selectors and views need the app registry.
        from teams.backends import lockout_page_register
        from teams.pii import subject_resolver_register

        from .kyc.models import KycDocument
        from .selectors import customer_for_audit
        from .views import client_login_locked

        subject_resolver_register("customers.customer", customer_for_audit)
        subject_resolver_register("customers.kycdocument", lambda object_id: customer_for_audit(
            str(KycDocument.objects.filter(pk=object_id).values_list("customer_id", flat=True).first() or ""))
            if object_id.isdigit() else None)
        lockout_page_register("/client/", client_login_locked)
