"""Factories of customers' models (factory-boy). `CustomerFactory` builds the row only: no registration, no
trading account (ledger's `TradingAccountFactory` opens one), no activity."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from customers.models import Activity, Customer, CustomerGroup
from customers.services import email_canonical


class CustomerGroupFactory(DjangoModelFactory):
    class Meta:
        model = CustomerGroup
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Group {n}")


class CustomerFactory(DjangoModelFactory):
    """A customer in GB; the team follows the agent (`assigned_to`) unless given."""

    class Meta:
        model = Customer

    first_name = factory.Sequence(lambda n: f"Client{n}")
    last_name = "Example"
    email = factory.Sequence(lambda n: f"client{n}@example.com")
    email_canonical = factory.LazyAttribute(lambda o: email_canonical(o.email))
    phone = factory.Sequence(lambda n: f"+4477009{n % 100000:05d}")
    country = "GB"
    assigned_to = None
    team = factory.LazyAttribute(lambda o: o.assigned_to.team if o.assigned_to else None)
    password = factory.django.Password("client-password")


class ActivityFactory(DjangoModelFactory):
    class Meta:
        model = Activity

    customer = factory.SubFactory(CustomerFactory)
    verb = "customer.updated"
    summary = "Updated"
