"""Platform tasks."""

from __future__ import annotations

import os
import socket

from celery import shared_task
from django.core.cache import cache


@shared_task(name="brokercrm.worker_ping", bind=True)
def worker_ping(self, *, key: str) -> str:
    """Record which worker process ran this task at cache key `<key>:<task id>` (diagnostics, scale-out test)."""
    who = f"{socket.gethostname()}:{os.getpid()}"
    cache.set(f"{key}:{self.request.id}", who, timeout=600)
    return who
