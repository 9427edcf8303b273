from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "teams"
    verbose_name = "Teams & RBAC"

    def ready(self):
        from brokercrm.api import schema  # noqa: F401  (registers the OpenAPI auth extensions)
