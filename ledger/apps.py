from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"

    def ready(self):
        # In-transaction hooks of customers (below ledger): a registration or bulk import opens trading accounts
        # in its own transaction. Imported here because services need the app registry.
        from customers.signals import customer_created, customers_created_bulk

        from .receivers import on_customer_created, on_customers_created_bulk

        customer_created.connect(on_customer_created, dispatch_uid="ledger.account_open")
        customers_created_bulk.connect(on_customers_created_bulk, dispatch_uid="ledger.accounts_open_bulk")
