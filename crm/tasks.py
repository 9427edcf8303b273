from celery import shared_task


@shared_task(name="crm.tasks_flag_overdue")
def tasks_flag_overdue_task() -> int:
    from .services import tasks_flag_overdue

    return tasks_flag_overdue()
