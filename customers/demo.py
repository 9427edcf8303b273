"""Demo customers across the team tree (ledger.demo opens their trading accounts)."""

from __future__ import annotations

import random

import phonenumbers

from .models import Affiliate, Customer, CustomerGroup, PromoCode, RegistrationPath, Source
from .services import _hash_secret, activity_record, affiliate_create, email_canonical

PATH_GROUPS = {"organic": "Standard", "affiliate": "Affiliates", "promo": "Promo", "import": "Imported"}

FIRST = ["John", "Emma", "Liam", "Olivia", "Noah", "Ava", "Lucas", "Mia", "Mateo", "Sofia", "Omar", "Leila",
         "Yusuf", "Hannah", "Pedro", "Ines", "Tom", "Chloe", "Ivan", "Nina"]
LAST = ["Doe", "Smith", "Brown", "Garcia", "Muller", "Rossi", "Silva", "Khan", "Cohen", "Novak"]
COUNTRIES = ["GB", "DE", "FR", "ES", "IT", "BR", "MX", "AE", "IL", "PL"]


def demo_phone(country: str, n: int) -> str:
    """A valid E.164 mobile number for `country`, varied by `n`."""
    example = phonenumbers.example_number_for_type(country, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    for k in range(200):
        candidate = national[:-4] + f"{(n * 37 + k) % 10000:04d}"
        number = phonenumbers.parse(f"+{example.country_code}{candidate}")
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)


def seed(ctx: dict, log) -> None:
    users = ctx["users"]
    teams = ctx["teams"]
    for name in ("Standard", "Promo", "Affiliates", "Imported", "VIP"):
        CustomerGroup.objects.get_or_create(name=name)
    standard = CustomerGroup.objects.get(name="Standard")
    for source, group in PATH_GROUPS.items():
        RegistrationPath.objects.update_or_create(source=source,
                                                  defaults={"default_group": CustomerGroup.objects.get(name=group)})
    PromoCode.objects.get_or_create(code="DEMO100", defaults={"group": CustomerGroup.objects.get(name="Promo")})
    if not Affiliate.objects.filter(code="aff_demo").exists():
        affiliate_create(code="aff_demo", name="Demo Affiliate", api_key="demo-affiliate-key",
                         group=CustomerGroup.objects.get(name="Affiliates"))
    Affiliate.objects.filter(code="aff_demo").update(api_key_hash=_hash_secret("demo-affiliate-key"))
    owners = [
        (users["agent"], teams["uk"]),
        (users["agent_uk2"], teams["uk"]),
        (users["agent_eu"], teams["eu"]),
        (users["agent_latam"], teams["latam"]),
        (None, teams["eu"]),
        (None, None),
    ]
    rng = random.Random(42)
    created = 0
    for i in range(60):
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        email = f"{first.lower()}.{last.lower()}{i}@example.com" if i else "john.doe@example.com"
        if Customer.objects.filter(email_canonical=email_canonical(email)).exists():
            continue
        country = COUNTRIES[i % len(COUNTRIES)]
        agent, team = owners[i % len(owners)]
        customer = Customer(
            first_name=first, last_name=last, email=email, email_canonical=email_canonical(email),
            # The product sheet's example number (a range reserved for fiction) for the first demo customer.
            phone=demo_phone(country, i) if i else "+447700900000", country=country,
            locale={"AE": "ar", "IL": "he", "BR": "pt-BR"}.get(country, "en"),
            source=rng.choice([Source.ORGANIC, Source.AFFILIATE, Source.PROMO]), group=standard,
            assigned_to=agent, team=team, marketing_consent=bool(i % 3),
        )
        customer.set_password("demo-password")
        customer.save()
        activity_record(customer=customer, verb="customer.registered", summary=f"Registered ({customer.source})")
        created += 1
    ctx["customers"] = list(Customer.objects.order_by("pk"))
    log(f"{created} customers created ({Customer.objects.count()} in all)")
