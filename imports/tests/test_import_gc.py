"""Issue #16, fifth pass: Python's cyclic garbage collector is paused for each chunk (and for the staging of a file)
and back on afterwards — also when the chunk fails, whose rows then stay pending with nothing half-written — and left
alone when the host turned it off."""

from __future__ import annotations

import gc

import pytest

from customers.models import Customer
from customers.signals import customers_created_bulk
from imports.models import ImportJob
from imports.services import _gc_paused, import_create, import_process, import_step

pytestmark = pytest.mark.django_db
HEADER = "email,phone,first_name,last_name,country\n"
BODY = "".join(f"gc{i}@example.org,+4479112{i:05d},Lead,N{i},GB\n" for i in range(1, 4))


@pytest.fixture
def collector():
    """The collector on at the start of the test and as it was afterwards, whatever the test did."""
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def _watch(seen: list):
    def receiver(sender, **kwargs):
        seen.append(gc.isenabled())
    customers_created_bulk.connect(receiver, weak=False)
    return receiver


def test_collector_paused_during_the_chunk_and_back_on_after(demo, collector):
    seen: list[bool] = []
    receiver = _watch(seen)
    try:
        job = import_create(by=demo["admin"], raw=(HEADER + BODY).encode(), file_name="t.csv", rate_per_second=0)
        assert gc.isenabled()  # after the staging
        import_process(job_id=job.pk)
    finally:
        customers_created_bulk.disconnect(receiver)
    assert seen == [False]  # inside the chunk (the ledger's hook runs there)
    assert gc.isenabled()
    job.refresh_from_db()
    assert (job.status, job.imported_rows) == (ImportJob.Status.COMPLETED, 3)
    # A reference cycle left by the chunk is still collected as usual afterwards.
    cycle: list = []
    cycle.append(cycle)
    del cycle
    assert gc.collect() >= 1


def test_collector_back_on_when_a_chunk_fails_and_its_rows_stay_pending(demo, collector):
    def failing(sender, **kwargs):
        raise RuntimeError("the chunk fails after its customers' COPY")

    job = import_create(by=demo["admin"], raw=(HEADER + BODY).encode(), file_name="t.csv", rate_per_second=0)
    before = Customer.objects.count()
    customers_created_bulk.connect(failing, weak=False)
    try:
        with pytest.raises(RuntimeError):
            import_step(job_id=job.pk)
    finally:
        customers_created_bulk.disconnect(failing)
    assert gc.isenabled()
    assert Customer.objects.count() == before  # the chunk rolled back whole
    assert sorted(job.rows.values_list("status", flat=True)) == ["pending"] * 3
    job.refresh_from_db()
    assert (job.processed_rows, job.imported_rows, job.rejected_rows) == (0, 0, 0)
    # The next step (a resume) imports the same rows exactly once.
    import_process(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed_rows, job.imported_rows) == (ImportJob.Status.COMPLETED, 3, 3)
    assert Customer.objects.count() == before + 3


def test_collector_left_off_when_the_host_turned_it_off(demo, collector):
    gc.disable()
    job = import_create(by=demo["admin"], raw=(HEADER + BODY).encode(), file_name="t.csv", rate_per_second=0)
    import_process(job_id=job.pk)
    assert not gc.isenabled()
    job.refresh_from_db()
    assert job.imported_rows == 3


def test_overlapping_pauses_keep_the_collector_off_until_the_last_ends():
    """The independent review's case: two threads of one process pausing at once (two stagings in a web process);
    the first to end does not turn the collector back on under the other."""
    import threading

    inside_b, a_done, seen = threading.Event(), threading.Event(), []

    def b():
        with _gc_paused():
            inside_b.set()
            a_done.wait(5)
            seen.append(gc.isenabled())

    thread = threading.Thread(target=b)
    with _gc_paused():
        thread.start()
        inside_b.wait(5)
    a_done.set()
    thread.join()
    assert seen == [False] and gc.isenabled()
