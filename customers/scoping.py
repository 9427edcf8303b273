"""How API viewsets and workspace views get customer data: through `ScopedViewMixin`, never a hand-written filter.

`scoped(queryset)` restricts a customer or customer-owned queryset (`customers.models.CustomerQuerySet`,
`CustomerOwnedQuerySet`) to what the request's user may see (`edit=True`: change). A view that declares
`queryset` (DRF) or `model`/`queryset` (Django generic views) gets it scoped by `get_queryset()`; a view building its
own queryset calls `self.scoped(...)`. Out of scope is absent, hence 404."""

from __future__ import annotations

from django.db.models import Model, QuerySet

from .models import CustomerOwnedQuerySet, CustomerQuerySet

SCOPED_QUERYSETS = (CustomerQuerySet, CustomerOwnedQuerySet)


def scoped_for(queryset: QuerySet | type[Model], user, *, edit: bool = False) -> QuerySet:
    """`queryset` (or a model's default manager) restricted to `user`'s view (or edit) scope."""
    qs = queryset._default_manager.all() if isinstance(queryset, type) else queryset.all()
    if not isinstance(qs, SCOPED_QUERYSETS):
        raise TypeError(f"{qs.model.__name__} is not customer data: its queryset has no customer scope.")
    return qs.editable_by(user) if edit else qs.visible_to(user)


class ScopedViewMixin:
    """The one base of every view (API or page) that lists or looks up customers or customer-owned rows."""

    def scoped(self, queryset: QuerySet | type[Model], *, edit: bool = False) -> QuerySet:
        return scoped_for(queryset, self.request.user, edit=edit)

    def get_queryset(self):
        return self.scoped(super().get_queryset())
