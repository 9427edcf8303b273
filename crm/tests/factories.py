"""Factories of crm's models (factory-boy): notes and tasks on a customer."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from crm.models import Note, Task
from customers.services import activity_record
from customers.tests.factories import CustomerFactory, valid_phone
from ledger.tests.factories import TradingAccountFactory, demo_rates
from teams.models import Team
from teams.tests.factories import UserFactory


class NoteFactory(DjangoModelFactory):
    class Meta:
        model = Note

    customer = factory.SubFactory(CustomerFactory)
    body = factory.Sequence(lambda n: f"Note {n}")
    author = factory.SubFactory(UserFactory)


class TaskFactory(DjangoModelFactory):
    """An open task due tomorrow for the customer's agent (its team follows the assignee)."""

    class Meta:
        model = Task

    customer = factory.SubFactory(CustomerFactory)
    title = factory.Sequence(lambda n: f"Task {n}")
    assignee = factory.LazyAttribute(lambda o: o.customer.assigned_to)
    team = factory.LazyAttribute(lambda o: o.assignee.team if o.assignee else o.customer.team)
    due_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))


COUNTRIES = ["GB", "DE", "FR", "ES", "IT", "BR", "MX", "AE", "IL", "PL"]


def customers_across_the_tree(staff: dict, per_owner: int = 2) -> list:
    """A small version of the demo's customers for `teams.tests.factories.demo_staff()`: `per_owner` customers for
    each of the demo's owners — agent and agent2 (Sales UK), agent3 (Sales EU), agent4 (Sales LATAM), nobody in
    Sales EU, nobody without a team — with valid mobile numbers, countries in turn, their "registered" activity and
    one trading account each (EUR in the euro countries, else USD; the demo's EUR and GBP rates are set). No money,
    notes or tasks."""
    demo_rates()
    eu = Team.objects.get(name="Sales EU")
    owners = [(staff["agent"], None), (staff["agent2"], None), (staff["agent3"], None), (staff["agent4"], None),
              (None, eu), (None, None)]
    customers = []
    for i in range(per_owner * len(owners)):
        agent, team = owners[i % len(owners)]
        country = COUNTRIES[i % len(COUNTRIES)]
        customer = CustomerFactory(country=country, phone=valid_phone(country, i), assigned_to=agent,
                                   team=agent.team if agent else team)
        TradingAccountFactory(customer=customer, currency="EUR" if country in ("DE", "FR", "ES", "IT") else "USD")
        activity_record(customer=customer, verb="customer.registered", summary="Registered (organic)")
        customers.append(customer)
    return customers
