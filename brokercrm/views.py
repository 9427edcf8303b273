"""Platform-wide endpoints: health (staff token auth is `teams.api.token_views`)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from .api.schema import ERRORS


class HealthView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    @extend_schema(
        responses={200: inline_serializer("Health", {"status": serializers.CharField(),
                                                       "database": serializers.CharField(),
                                                       "redis": serializers.CharField()}),
                   503: ERRORS[503]}
    )
    def get(self, request):
        body = {"status": "ok", "database": "ok", "redis": "not_configured"}
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception:
            body.update(status="error", database="error")
        if settings.REDIS_URL:
            import redis

            try:
                redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2).ping()
                body["redis"] = "ok"
            except Exception:
                body.update(status="error", redis="error")
        return Response(body, status=200 if body["status"] == "ok" else 503)
