"""In-transaction hooks of customers, for the apps above it (see docs/DEVELOPING.md, "Upward reactions").

Unlike the after-commit domain events (`brokercrm.events`), these are sent INSIDE the creating transaction, with
plain `send()`: a receiver's failure rolls the registration back. Use them only where the reaction must commit or
fail with the customer (ledger opens the trading account); everything else listens to the domain events."""

from __future__ import annotations

from django.dispatch import Signal

# One customer registered (organic, affiliate, promo): kwargs `customer` (saved), `currency` (requested).
customer_created = Signal()
# Customers created in bulk (the lead import): kwargs `customers` (saved, with primary keys).
customers_created_bulk = Signal()
