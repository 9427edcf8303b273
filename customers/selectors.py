"""Reads of customers: every one starts from `Customer.objects.visible_to(user)`."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from brokercrm.inputs import parse_id
from teams import pii
from teams.constants import PiiLevel
from teams.models import Team, subtree_q

from .models import Customer, FraudSettings, PromoCode, RegistrationPath, RetentionClass
from .pipelines import FinanceStatus, KycStatus, SalesStatus


class CustomerFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(method="filter_search")
    assigned_to = django_filters.NumberFilter(field_name="assigned_to_id")
    team = django_filters.NumberFilter(method="filter_team")
    sales_status = django_filters.ChoiceFilter(choices=SalesStatus.choices)
    kyc_status = django_filters.ChoiceFilter(choices=KycStatus.choices)
    finance_status = django_filters.ChoiceFilter(choices=FinanceStatus.choices)
    retention = django_filters.ChoiceFilter(field_name="retention_class", choices=RetentionClass.choices)

    class Meta:
        model = Customer
        fields: list[str] = []

    def filter_team(self, queryset, name, value):
        team = Team.objects.filter(pk=value).first()
        return queryset.filter(subtree_q(team.path)) if team else queryset.none()

    def filter_search(self, queryset, name, value):
        """Names and ids always; email and phone only for viewers who see that field in full.

        Matching a masked or hidden field would reveal it, one guess at a time."""
        value = value.strip()
        if not value:
            return queryset
        user = self.request.user if self.request else None
        q = Q(first_name__icontains=value) | Q(last_name__icontains=value)
        number = parse_id(value)
        if number is not None:
            q |= Q(pk=number) | Q(accounts__login=number)
        if pii.email_level(user) == PiiLevel.FULL:
            q |= Q(email__icontains=value) | Q(email_canonical__icontains=value.lower())
        if pii.phone_level(user) == PiiLevel.FULL:
            digits = "".join(ch for ch in value if ch.isdigit())
            if len(digits) >= 4:
                q |= Q(phone__contains=digits)
        return queryset.filter(q).distinct()


def customer_list(*, user, filters: dict | None = None, request=None) -> QuerySet[Customer]:
    qs = (
        Customer.objects.visible_to(user)
        .select_related("assigned_to", "team", "group")
        .prefetch_related("accounts")  # ledger's TradingAccount is ordered by login
    )
    return CustomerFilterSet(filters or {}, qs, request=request).qs


def customer_get(*, user, customer_id: int) -> Customer:
    """One visible customer, or Customer.DoesNotExist (out of scope looks exactly like unknown)."""
    return customer_list(user=user).get(pk=customer_id)


def customer_for_audit(object_id: str) -> Customer | None:
    """The customer an audit entry of type "customers.customer" is about (registered with
    `teams.pii.subject_resolver_register` in customers.apps, for redacting the entry's snapshots)."""
    if not object_id.isdigit():
        return None
    # Not .only(): deferring the FSM status fields makes django-fsm reload them recursively.
    return Customer.objects.filter(pk=object_id).first()


def registration_path_list() -> QuerySet[RegistrationPath]:
    """Every registration path with its default group (read-only: the rows exist from a data migration on)."""
    return RegistrationPath.objects.select_related("default_group")


def promo_code_list() -> QuerySet[PromoCode]:
    return PromoCode.objects.select_related("group")


def fraud_settings_get() -> FraudSettings:
    """The fraud settings to show: the row (made by a data migration), else the defaults unsaved — a read never
    writes (`FraudSettings.current()`, which creates the row, is for the registration and update paths)."""
    return FraudSettings.objects.order_by("pk").first() or FraudSettings()
