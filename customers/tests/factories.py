"""Factories of customers' models (factory-boy). `CustomerFactory` builds the row only: no registration, no
trading account (ledger's `TradingAccountFactory` opens one), no activity."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from customers.demo import PATH_GROUPS, demo_phone
from customers.models import Activity, Customer, CustomerGroup, PromoCode, RegistrationPath
from customers.services import affiliate_create, email_canonical


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
    password = factory.django.Password("client-password")  # hashes an override too: pass the raw password


class ActivityFactory(DjangoModelFactory):
    class Meta:
        model = Activity

    customer = factory.SubFactory(CustomerFactory)
    verb = "customer.updated"
    summary = "Updated"


def valid_phone(country: str = "GB", n: int = 1) -> str:
    """A valid E.164 mobile number of `country` (the factory's default numbers are in the UK's fiction range)."""
    return demo_phone(country, n)


def registration_paths() -> dict[str, RegistrationPath]:
    """The demo's registration paths with their default groups (organic → Standard, affiliate → Affiliates, promo →
    Promo, import → Imported) and the VIP group, as `customers.demo` seeds them."""
    CustomerGroupFactory(name="VIP")
    return {source: RegistrationPath.objects.update_or_create(
        source=source, defaults={"default_group": CustomerGroupFactory(name=group)})[0]
        for source, group in PATH_GROUPS.items()}


def registration_setup() -> dict[str, RegistrationPath]:
    """What the registration paths of API.md need, as `customers.demo` seeds it: the paths with their default
    groups, the promo code DEMO100 (group Promo) and the affiliate `aff_demo` (API key `demo-affiliate-key`,
    group Affiliates)."""
    paths = registration_paths()
    PromoCode.objects.create(code="DEMO100", group=CustomerGroupFactory(name="Promo"))
    affiliate_create(code="aff_demo", name="Demo Affiliate", api_key="demo-affiliate-key",
                     group=CustomerGroupFactory(name="Affiliates"))
    return paths
