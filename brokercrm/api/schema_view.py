"""The OpenAPI schema endpoint, safe under concurrent requests.

drf-spectacular builds the schema by walking every view with shared generator state; two requests generating it
at the same moment in one process (several clients opening /api/docs/ or fuzzing at once) could fail with a 500.
Generation is serialized by a lock; it takes well under a second."""

from __future__ import annotations

import threading

from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView

_lock = threading.Lock()


class SchemaView(SpectacularAPIView):
    @extend_schema(**SCHEMA_KWARGS)  # the parent's own schema declaration; without it check --deploy warns W002
    def get(self, request, *args, **kwargs):
        with _lock:
            return super().get(request, *args, **kwargs)
