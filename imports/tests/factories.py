"""Factories of imports' models (factory-boy)."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from imports.models import ImportJob
from teams.tests.factories import UserFactory


class ImportJobFactory(DjangoModelFactory):
    """A pending, unpaced job of a staff user (no file: build rows with `imports.services` when a test needs them)."""

    class Meta:
        model = ImportJob

    created_by = factory.SubFactory(UserFactory)
    file_name = factory.Sequence(lambda n: f"leads-{n}.csv")
    header = factory.LazyFunction(lambda: ["email", "first_name", "last_name", "phone", "country"])
    rate_per_second = 0
