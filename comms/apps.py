from django.apps import AppConfig


class CommsConfig(AppConfig):
    name = "comms"
    verbose_name = "Communications"

    def ready(self):
        from brokercrm.events import domain_event

        from .workflows import on_domain_event

        domain_event.connect(on_domain_event, dispatch_uid="comms.workflows")
