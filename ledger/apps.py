from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"

    def ready(self):
        from . import conf  # noqa: F401  (production refuses to start without the secrets of enabled features)
