from celery import shared_task

from .retention import retention_classify


@shared_task(name="customers.retention_classify")
def retention_classify_task() -> dict:
    """Nightly (and hourly-safe) recomputation of retention classes."""
    return retention_classify().changed
