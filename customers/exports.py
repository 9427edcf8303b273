"""The customer export, one implementation for the API (`GET /api/crm/customers/export`) and the workspace's
Export button: the gate (`can_export_pii`, on top of `reports.export_customers`) and the CSV with every email and
phone shown as the exporting user may see it (masked or blank when hidden), formula cells neutralized."""

from __future__ import annotations

from collections.abc import Iterator

from django.http import StreamingHttpResponse

from brokercrm.csvutil import csv_lines
from teams import pii

HEADER = ["id", "first_name", "last_name", "email", "phone", "country", "source", "group", "sales_status",
          "kyc_status", "finance_status", "retention", "assigned_to", "registered_at"]


def export_allowed(user) -> bool:
    """The export gate: the file carries PII, so the role needs `can_export_pii` (superusers pass)."""
    role = getattr(user, "role", None)
    return bool(user.is_superuser or (role and role.can_export_pii))


def customer_rows(queryset, user) -> Iterator[list]:
    for c in queryset.order_by("pk").iterator(chunk_size=2000):
        yield [
            c.pk, c.first_name, c.last_name, pii.show_email(c.email, user) or "",
            pii.show_phone(c.phone, user) or "", c.country, c.source, c.group.name if c.group else "",
            c.sales_status, c.kyc_status, c.finance_status, c.retention_class,
            c.assigned_to.email if c.assigned_to else "", c.registered_at.isoformat(),
        ]


def customer_export_response(queryset, user) -> StreamingHttpResponse:
    response = StreamingHttpResponse(csv_lines(HEADER, customer_rows(queryset, user)),
                                     content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="customers.csv"'
    return response
