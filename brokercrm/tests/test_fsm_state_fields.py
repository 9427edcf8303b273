"""brokercrm.fsm.StateFieldsOnce: django-fsm's concurrent-transition guard finds the same state fields, once per
model class, and still refuses a save whose state changed in the database since the instance was read."""

from __future__ import annotations

import pytest
from django_fsm import ConcurrentTransition, ConcurrentTransitionMixin

from customers.models import Customer
from ledger.models import Transaction


@pytest.mark.parametrize("model", [Customer, Transaction])
def test_state_fields_are_those_django_fsm_finds(model):
    instance = model()
    assert tuple(instance.state_fields) == tuple(ConcurrentTransitionMixin.state_fields.fget(instance))
    assert tuple(instance.state_fields)  # each has at least one state field
    assert model.__dict__["_state_fields_once"] is instance.state_fields  # kept on the class


@pytest.mark.django_db
def test_a_state_changed_since_read_is_still_refused():
    customer = Customer.objects.create(first_name="A", last_name="B", email="fsm@example.com",
                                       email_canonical="fsm@example.com", country="GB")
    stale = Customer.objects.get(pk=customer.pk)
    field = next(iter(customer.state_fields))
    other = [value for value, _label in field.choices if value != getattr(customer, field.attname)][0]
    Customer.objects.filter(pk=customer.pk).update(**{field.attname: other})
    stale.first_name = "C"
    with pytest.raises(ConcurrentTransition):
        stale.save()
