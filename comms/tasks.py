"""Thin Celery tasks: load by id, call a service; retries with exponential backoff."""

from __future__ import annotations

from celery import shared_task

from . import conf
from .providers import SendPaced, SendTemporaryError


@shared_task(bind=True, name="comms.message_send", max_retries=None)
def message_send(self, *, message_id: int) -> None:
    """Send one message. Provider attempts are counted on the message (a paced re-queue is not an attempt);
    after COMMS_SEND_MAX_RETRIES retries it is failed. A provider's Retry-After sets the retry's delay."""
    from .services import message_attempts, message_deliver, message_give_up

    try:
        message_deliver(message_id=message_id)
    except SendPaced as paced:
        # Its turn is further than a worker should sleep: back to the queue, a little before the slot frees.
        raise self.retry(countdown=max(0.5, paced.wait - conf.COMMS_PACE_MAX_WAIT / 2)) from None
    except SendTemporaryError as exc:
        attempts = message_attempts(message_id=message_id)
        if attempts > conf.SEND_MAX_RETRIES:
            message_give_up(message_id=message_id, error=str(exc))
            return
        if exc.retry_after is not None:
            countdown = min(exc.retry_after, conf.COMMS_RETRY_AFTER_MAX)
        else:
            countdown = min(2 ** (attempts - 1), 60)
        raise self.retry(countdown=countdown) from None


@shared_task(bind=True, name="comms.workflow_run", max_retries=conf.SEND_MAX_RETRIES)
def workflow_run(self, *, run_id: int) -> None:
    from .workflows import workflow_run_execute, workflow_run_give_up

    try:
        workflow_run_execute(run_id=run_id)
    except Exception:
        if self.request.retries >= self.max_retries:
            workflow_run_give_up(run_id=run_id)
            return
        raise self.retry(countdown=min(2 ** self.request.retries, 60)) from None


@shared_task(name="comms.workflow_run_batch", acks_late=True, reject_on_worker_lost=True)
def workflow_run_batch(*, run_ids: list[int]) -> None:
    """A batch of workflow runs (fan-out over many customers); a failing run continues as its own task."""
    from .workflows import workflow_runs_execute_batch

    workflow_runs_execute_batch(run_ids=run_ids)
