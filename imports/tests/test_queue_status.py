"""Issue #12: a job says when it is waiting in the queue; a paced step never sleeps, it returns its next slot."""

from __future__ import annotations

import io
import time

import pytest
from django.test import Client
from django.utils import timezone

from imports.models import ImportJob
from imports.services import import_step
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff and teams (teams.tests.factories.demo_staff), not the whole demo seed."""
    return demo_staff()
HEADER = "email,phone,first_name,last_name,country\n"


def upload(client, rows: int, rate: int):
    text = HEADER + "".join(f"q{i}@example.org,+4479112{i:05d},Q{i},Queue,GB\n" for i in range(rows))
    response = client.post("/api/backoffice/customers/import", {"file": io.BytesIO(text.encode()),
                                                                "rate_per_second": rate}, format="multipart")
    assert response.status_code == 202, response.content
    return response.json()["job_id"]


def test_status_and_page_say_waiting_in_the_queue_until_a_worker_starts(client_for, demo):
    api = client_for("admin")
    job_id = upload(api, 30, 10)  # no worker here: the job stays queued
    status = api.get(f"/api/backoffice/customers/import/{job_id}/status").json()
    assert status["status"] == "pending" and status["waiting_in_queue"] is True
    assert status["status_text"] == "waiting in the queue"
    page = Client()
    page.force_login(demo["admin"])
    assert "waiting in the queue" in page.get(f"/imports/{job_id}/").content.decode()
    assert "waiting in the queue" in page.get("/imports/").content.decode()

    import_step(job_id=job_id)  # a worker takes the first slot
    status = api.get(f"/api/backoffice/customers/import/{job_id}/status").json()
    assert (status["status"], status["waiting_in_queue"], status["status_text"]) == ("running", False, "running")


def test_a_paced_step_returns_its_next_slot_instead_of_sleeping(client_for, demo):
    job_id = upload(client_for("admin"), 30, 10)  # chunks of 10 rows, one per second
    t0 = time.monotonic()
    slot = import_step(job_id=job_id)
    assert time.monotonic() - t0 < 0.9  # it processed its chunk and did not wait for the next one
    assert ImportJob.objects.get(pk=job_id).processed_rows == 10
    ahead = (slot - timezone.now()).total_seconds()
    assert 0.3 < ahead <= 1.0, ahead
    # Woken before its slot, a step changes nothing and hands the same slot back (to be scheduled again).
    assert import_step(job_id=job_id, slot=slot) == slot
    assert ImportJob.objects.get(pk=job_id).processed_rows == 10
    time.sleep(max(0.0, (slot - timezone.now()).total_seconds()))
    slot = import_step(job_id=job_id, slot=slot)
    assert ImportJob.objects.get(pk=job_id).processed_rows == 20
    time.sleep(max(0.0, (slot - timezone.now()).total_seconds()))
    slot = import_step(job_id=job_id, slot=slot)
    time.sleep(max(0.0, (slot - timezone.now()).total_seconds()))
    assert import_step(job_id=job_id, slot=slot) is None  # nothing left: the chain ends, the job is complete
    assert ImportJob.objects.get(pk=job_id).status == "completed"
