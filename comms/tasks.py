"""Thin Celery tasks: load by id, call a service; retries with exponential backoff."""

from __future__ import annotations

from celery import shared_task

from . import conf
from .providers import SendTemporaryError


@shared_task(bind=True, name="comms.message_send", max_retries=conf.SEND_MAX_RETRIES)
def message_send(self, *, message_id: int) -> None:
    from .services import message_deliver, message_give_up

    try:
        message_deliver(message_id=message_id)
    except SendTemporaryError as exc:
        if self.request.retries >= self.max_retries:
            message_give_up(message_id=message_id, error=str(exc))
            return
        raise self.retry(countdown=min(2 ** self.request.retries, 60)) from None


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
