from django.apps import AppConfig


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = "Agent workspace"

    def ready(self):
        # Imports inside ready(), not at module level: Django imports apps.py while it populates the app registry,
        # before any models module may be imported (the modules imported here import models).
        from brokercrm.celery import app

        app.conf.beat_schedule["crm.tasks_flag_overdue"] = {"task": "crm.tasks_flag_overdue", "schedule": 60.0}
        # The trading-platform bridge (no-ops with the simulator): retries due syncs, counts trading activity.
        app.conf.beat_schedule["crm.platform_accounts_sync"] = {"task": "crm.platform_accounts_sync", "schedule": 30.0}
        app.conf.beat_schedule["crm.platform_deals_sync"] = {"task": "crm.platform_deals_sync", "schedule": 30.0}
        app.conf.beat_schedule["crm.platform_activity_sync"] = {"task": "crm.platform_activity_sync",
                                                                "schedule": 300.0}

        from brokercrm.events import domain_event

        from .trading.bridge import on_domain_event

        domain_event.connect(on_domain_event, dispatch_uid="crm.trading.bridge")

        # Upward reactions (lower apps never import crm): the freeze task on ledger's `customer.frozen`, and the
        # `create_task` workflow action that comms dispatches through its registry.
        from comms.models import WorkflowAction
        from comms.workflows import action_handler_register

        from .handlers import on_customer_frozen, on_kyc_expiring, workflow_create_task

        domain_event.connect(on_customer_frozen, dispatch_uid="crm.freeze_task")
        domain_event.connect(on_kyc_expiring, dispatch_uid="crm.kyc_expiring_task")
        action_handler_register(WorkflowAction.Kind.CREATE_TASK, workflow_create_task)
        # The in-process trading simulator of the embedded default is started by its ASGI entry point
        # (crm.trading.asgi, scripts/run.sh), not here: loading the apps starts no thread.
