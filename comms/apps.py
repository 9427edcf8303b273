from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "comms"
    verbose_name = "Communications"

    def ready(self):
        # Imports inside ready(), not at module level: Django imports apps.py while it populates the app registry,
        # before any models module may be imported (the modules imported here import models).
        from django.db.models.signals import post_delete, post_save

        from brokercrm.events import domain_event

        from . import conf  # noqa: F401  (production refuses to start without the secrets of enabled features)
        from .models import Workflow
        from .workflows import on_domain_event, triggers_changed

        domain_event.connect(on_domain_event, dispatch_uid="comms.workflows")
        # Cache invalidation only (this process's trigger cache; other processes re-read within seconds).
        for signal in (post_save, post_delete):
            signal.connect(lambda **kw: triggers_changed(), sender=Workflow, weak=False,
                           dispatch_uid=f"comms.workflow-triggers-{signal}")
