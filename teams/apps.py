from django.apps import AppConfig


class TeamsConfig(AppConfig):
    name = "teams"
    verbose_name = "Teams & RBAC"

    def ready(self):
        # Imports inside ready(), not at module level: Django imports apps.py while it populates the app registry,
        # before any models module may be imported (the modules imported here import models).
        from django.contrib.auth.signals import user_logged_in

        from brokercrm.api import schema  # noqa: F401  (registers the OpenAPI auth extensions)

        from .twofactor import forget_second_factor

        user_logged_in.connect(forget_second_factor, dispatch_uid="teams.twofactor.login")
