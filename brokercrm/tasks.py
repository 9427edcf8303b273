"""Platform tasks."""

from __future__ import annotations

import os
import socket
import time

from celery import shared_task
from django.core.cache import cache


@shared_task(name="brokercrm.worker_ping", bind=True)
def worker_ping(self, *, key: str, hold_seconds: float = 0.0) -> str:
    """Record which worker process ran this task at cache key `<key>:<task id>` (diagnostics, scale-out test)."""
    who = f"{socket.gethostname()}:{os.getpid()}"
    if hold_seconds:
        time.sleep(min(hold_seconds, 5.0))
    cache.set(f"{key}:{self.request.id}", who, timeout=600)
    return who
