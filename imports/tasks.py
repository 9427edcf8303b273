from celery import shared_task
from celery.signals import worker_ready


@shared_task(name="imports.process", acks_late=True, reject_on_worker_lost=True)
def import_process_task(*, job_id: str, slot: str | None = None) -> None:
    """One step of a job's processing chain; the next step is scheduled for its pace slot (never a sleep here)."""
    from datetime import datetime

    from .services import import_step

    due = import_step(job_id=job_id, slot=datetime.fromisoformat(slot) if slot else None)
    if due is not None:
        import_process_task.apply_async(kwargs={"job_id": job_id, "slot": due.isoformat()}, eta=due)


@shared_task(name="imports.resume_stale")
def import_resume_stale_task() -> int:
    from .services import import_resume_stale

    return import_resume_stale()


@worker_ready.connect
def _resume_on_start(sender=None, **kwargs):
    """A worker of the imports queue coming back resumes jobs whose worker died mid-way (their heartbeat went
    silent). The look runs as a task, not in the worker's main process: no database work there, so the worker
    starts and stops at once (and forks its pool processes without a database pool to share)."""
    from . import conf

    queues = {q.name for q in getattr(getattr(sender, "task_consumer", None), "queues", [])}
    if queues and "imports" not in queues:
        return
    import_resume_stale_task.delay()
    # A worker that died moments ago still looks alive: look again once its heartbeat can have gone stale.
    import_resume_stale_task.apply_async(countdown=conf.IMPORT_STALE_SECONDS + 1)
