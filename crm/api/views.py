from __future__ import annotations

import csv

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from brokercrm.api.errors import ApiError
from brokercrm.api.schema import errors
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.api.serializers import CustomerOut, CustomerPatch
from customers.presence import presence_online
from teams import pii
from teams.permissions import ActionPermissions

from brokercrm.csvutil import csv_safe


class CustomerViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Customers in the caller's view scope, PII per role. Out of scope is 404, like unknown."""

    serializer_class = CustomerOut
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "customers.view", "partial_update": "customers.edit",
                          "export": "reports.export_customers"}
    filterset_class = None

    def get_queryset(self):
        return customer_selectors.customer_list(
            user=self.request.user, filters=self.request.query_params, request=self.request
        )

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "online": getattr(self, "_online", None)}

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        self._online = presence_online(c.pk for c in page)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    @extend_schema(request=CustomerPatch, responses={200: CustomerOut, **errors(400, 401, 403, 404)})
    def partial_update(self, request, pk=None):
        data = CustomerPatch(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        customer = customer_services.customer_update(customer=self.get_object(), by=request.user,
                                                     **data.validated_data)
        return Response(self.get_serializer(customer).data)

    @extend_schema(responses={(200, "text/csv"): str, **errors(401, 403)},
                   parameters=[OpenApiParameter("search", str)])
    @action(detail=False, methods=["get"])
    def export(self, request):
        """CSV of the visible customers (filters apply). Needs can_export_pii: the file carries PII."""
        role = request.user.role
        if not request.user.is_superuser and not (role and role.can_export_pii):
            raise ApiError(403, "export_not_allowed", "Exporting customers needs the can_export_pii right.")
        rows = self.get_queryset().order_by("pk").iterator(chunk_size=2000)
        user = request.user
        header = ["id", "first_name", "last_name", "email", "phone", "country", "source", "group",
                  "sales_status", "kyc_status", "finance_status", "retention", "assigned_to", "registered_at"]

        class Echo:
            def write(self, value):
                return value

        writer = csv.writer(Echo())

        def stream():
            yield writer.writerow(header)
            for c in rows:
                yield writer.writerow(csv_safe([
                    c.pk, c.first_name, c.last_name, pii.show_email(c.email, user) or "",
                    pii.show_phone(c.phone, user) or "", c.country, c.source, c.group.name if c.group else "",
                    c.sales_status, c.kyc_status, c.finance_status, c.retention_class,
                    c.assigned_to.email if c.assigned_to else "", c.registered_at.isoformat(),
                ]))

        response = StreamingHttpResponse(stream(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="customers.csv"'
        return response
