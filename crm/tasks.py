from celery import shared_task

# The trading-platform bridge's tasks live beside it; imported here so that Celery's autodiscovery finds them.
from .trading.tasks import platform_accounts_sync, platform_activity_sync, platform_deals_sync  # noqa: F401


@shared_task(name="crm.tasks_flag_overdue")
def tasks_flag_overdue_task() -> int:
    from .services import tasks_flag_overdue

    return tasks_flag_overdue()
