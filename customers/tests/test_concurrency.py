"""Concurrent registrations on PostgreSQL: one email never makes two customers; promo uses are exact."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from customers.models import Customer, CustomerGroup, PromoCode
from customers.tests.factories import registration_setup

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def demo_committed(transactional_db):
    """The registration set-up (paths, groups, DEMO100, aff_demo), committed so that the threads see it."""
    registration_setup()
    return {}


def _run_concurrently(n, fn):
    barrier = threading.Barrier(n)
    results = [None] * n

    def worker(i):
        try:
            barrier.wait()
            results[i] = fn(i)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _register(body):
    return APIClient().post("/api/customer/register", body, format="json", REMOTE_ADDR="10.0.0.1").status_code


def test_concurrent_same_email_creates_one_customer(demo_committed):
    def attempt(i):
        return _register({"email": f"Same.Person+{i}@Example.com", "password": "TestPass1234x", "first_name": "S",
                          "last_name": "P", "phone": f"+4479111230{i:02d}", "country": "GB", "source": "organic"})

    statuses = _run_concurrently(8, attempt)
    assert sorted(statuses).count(201) == 1 and statuses.count(409) == 7, statuses
    assert Customer.objects.filter(email_canonical="same.person@example.com").count() == 1


def test_concurrent_promo_uses_are_counted_exactly(demo_committed):
    PromoCode.objects.create(code="FIVE", group=CustomerGroup.objects.get(name="Promo"), max_uses=5)

    def attempt(i):
        return _register({"email": f"p{i}@example.org", "password": "TestPass1234x", "first_name": "P",
                          "last_name": "Q", "phone": f"+4479111231{i:02d}", "country": "GB", "source": "promo",
                          "promo_code": "five"})

    statuses = _run_concurrently(12, attempt)
    assert statuses.count(201) == 5 and statuses.count(400) == 7, statuses
    assert PromoCode.objects.get(code="FIVE").uses == 5
    assert Customer.objects.filter(promo_code__code="FIVE").count() == 5
