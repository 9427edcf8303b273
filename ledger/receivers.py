"""ledger's answers to customers' in-transaction hooks (`customers.signals`), connected in LedgerConfig.ready()."""

from __future__ import annotations

from .services import account_open, accounts_open_bulk


def on_customer_created(sender, customer, currency: str = "USD", **kwargs) -> None:
    """A registration opens the customer's trading account in the same transaction."""
    account_open(customer=customer, currency=currency)


def on_customers_created_bulk(sender, customers: list, **kwargs) -> None:
    """A bulk creation (the lead import) opens one trading account per customer in the same transaction."""
    accounts_open_bulk(customers=customers)
