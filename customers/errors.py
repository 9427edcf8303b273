"""Registration refusals shared by the gate pipeline (`customers.gates`) and the services that claim a promo code
or create the customer (`customers.services`): one class per code, declared once (see brokercrm.errors)."""

from __future__ import annotations

from brokercrm.errors import Conflict, DomainError


class GateError(DomainError):
    """A registration refused by a gate: invalid input (400 validation_error), or a subclass's code."""


class DuplicateCustomer(GateError, Conflict):
    code = "duplicate_customer"
    status = 409


class InvalidPromoCode(GateError):
    code = "invalid_promo_code"
