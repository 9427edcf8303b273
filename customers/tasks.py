from celery import shared_task

from .retention import retention_classify


@shared_task(name="customers.retention_classify")
def retention_classify_task() -> dict:
    """Nightly (and hourly-safe) recomputation of retention classes."""
    return retention_classify().changed


@shared_task(name="customers.kyc_expiry_scan")
def kyc_expiry_scan_task() -> int:
    """Daily: documents about to expire send their customers back to pending ahead of time."""
    from .kyc.services import kyc_expiry_scan

    return kyc_expiry_scan()
