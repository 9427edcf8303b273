"""Factories of crm's models (factory-boy): notes and tasks on a customer."""

from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone
from factory.django import DjangoModelFactory

from crm.models import Note, Task
from customers.tests.factories import CustomerFactory
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
