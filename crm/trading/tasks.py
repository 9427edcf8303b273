"""Celery tasks of the trading-platform bridge (queued on `default`: they are short and money-relevant)."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="crm.platform_accounts_sync")
def platform_accounts_sync() -> int:
    from .bridge import BATCH, accounts_sync

    done = accounts_sync()
    if done >= BATCH:  # more waiting: continue in a fresh task rather than hold the worker
        platform_accounts_sync.delay()
    return done


@shared_task(name="crm.platform_deals_sync")
def platform_deals_sync() -> int:
    from .bridge import BATCH, deals_sync

    done = deals_sync()
    if done >= BATCH:
        platform_deals_sync.delay()
    return done


@shared_task(name="crm.platform_activity_sync")
def platform_activity_sync() -> int:
    """Trading activity (deals, open positions) counts for retention: mark the customers seen."""
    from .activity import activity_sync

    return activity_sync()
