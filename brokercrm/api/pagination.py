"""Cursor pagination (`{"results": [...], "next": <url or null>}`) and keyset pagination on (time, id)."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from django.db.models import Q, QuerySet
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from brokercrm.errors import DomainError, InvalidCursor


class Cursor(CursorPagination):
    """DRF's cursor pagination with the contract's envelope (no `previous`)."""

    page_size = 50
    max_page_size = 200
    page_size_query_param = "page_size"
    ordering = "-id"

    def get_paginated_response(self, data):
        return Response({"results": data, "next": self.get_next_link()})

    def get_paginated_response_schema(self, schema):
        return {
            "type": "object",
            "required": ["results", "next"],
            "properties": {"results": schema, "next": {"type": "string", "nullable": True, "format": "uri"}},
        }


class KeysetPagination:
    """Keyset pagination on the row value (`time_field`, id), newest first: every page costs what the first does.

    The cursor is the last row's (time, id) in URL-safe base64; ties in time are broken by id."""

    page_size = 50
    max_page_size = 200

    def __init__(self, time_field: str = "created_at"):
        self.time_field = time_field

    def paginate(self, queryset: QuerySet, request) -> tuple[list, str | None]:
        size = self._page_size(request)
        raw = request.query_params.get("cursor")
        if raw:
            when, pk = self._decode(raw)
            # The redundant `time <= when` is what lets PostgreSQL start the index scan at the cursor (an index
            # condition); with the OR alone it scans from the newest row and filters, costing what OFFSET does.
            field = self.time_field
            queryset = queryset.filter(Q(**{f"{field}__lte": when}),
                                       Q(**{f"{field}__lt": when}) | Q(**{field: when, "pk__lt": pk}))
        rows = list(queryset.order_by(f"-{self.time_field}", "-pk")[: size + 1])
        next_url = None
        if len(rows) > size:
            rows = rows[:size]
            last = rows[-1]
            token = self._encode(getattr(last, self.time_field), last.pk)
            next_url = replace_query_param(request.build_absolute_uri(), "cursor", token)
        return rows, next_url

    def _page_size(self, request) -> int:
        try:
            return max(1, min(int(request.query_params.get("page_size", self.page_size)), self.max_page_size))
        except ValueError:
            raise DomainError("page_size must be an integer.") from None

    @staticmethod
    def _encode(when: datetime, pk: int) -> str:
        return base64.urlsafe_b64encode(json.dumps([when.isoformat(), pk]).encode()).decode().rstrip("=")

    @staticmethod
    def _decode(raw: str) -> tuple[datetime, int]:
        try:
            padded = raw + "=" * (-len(raw) % 4)
            when, pk = json.loads(base64.urlsafe_b64decode(padded))
            return datetime.fromisoformat(when), int(pk)
        except (ValueError, TypeError, binascii.Error):
            raise InvalidCursor("The cursor is not valid.") from None
