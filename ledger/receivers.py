"""ledger's answers to customers' in-transaction hooks (`customers.signals`), connected in LedgerConfig.ready()."""

from __future__ import annotations

from .services import account_open, accounts_open_bulk, accounts_open_for_ids


def on_customer_created(sender, customer, currency: str = "USD", **kwargs) -> None:
    """A registration opens the customer's trading account in the same transaction."""
    account_open(customer=customer, currency=currency)


def on_customers_created_bulk(sender, customers: list | None, customer_ids: list[int] | None = None,
                              **kwargs) -> None:
    """A bulk creation (the lead import) opens one trading account per customer in the same transaction (given
    the customers, or only their ids by the set-based import)."""
    if customer_ids is not None:
        accounts_open_for_ids(customer_ids=customer_ids)
    else:
        accounts_open_bulk(customers=customers)
