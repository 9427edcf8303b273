"""`event_emit_many` (issue #16): after commit, every payload of a batch reaches every receiver in order with `batch`
and `batch_index`, as one `send_robust` per event did; a failing receiver is logged and the others still run; with an
async receiver connected, the batch goes out one `send_robust` per event."""

from __future__ import annotations

import logging

import pytest

from brokercrm.events import domain_event, event_emit_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def connected():
    seen: list[tuple] = []

    def failing(sender, name, payload, **kwargs):
        if payload["n"] == 2:
            raise ValueError("boom")
        seen.append(("failing", name, payload["n"]))

    def recording(sender, name, payload, batch=None, batch_index=None, **kwargs):
        seen.append(("recording", name, payload["n"], batch_index, len(batch)))

    # Connected in this order: the failing one runs first for each event.
    domain_event.connect(failing, weak=False, dispatch_uid="test-batch-failing")
    domain_event.connect(recording, weak=False, dispatch_uid="test-batch-recording")
    try:
        yield seen
    finally:
        domain_event.disconnect(dispatch_uid="test-batch-failing")
        domain_event.disconnect(dispatch_uid="test-batch-recording")


def test_each_payload_reaches_each_receiver_after_commit(connected, django_capture_on_commit_callbacks, caplog):
    payloads = [{"n": n} for n in range(1, 4)]
    with caplog.at_level(logging.ERROR, logger="brokercrm.events"):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            event_emit_many("test.batch", payloads)
        assert [s for s in connected if s[1] == "test.batch"] == []  # nothing before the commit
        for callback in callbacks:
            callback()
    mine = [s for s in connected if s[1] == "test.batch"]
    assert mine == [("failing", "test.batch", 1), ("recording", "test.batch", 1, 0, 3),
                    ("recording", "test.batch", 2, 1, 3),  # the failure of event 2 stopped nobody
                    ("failing", "test.batch", 3), ("recording", "test.batch", 3, 2, 3)]
    assert any("failed for test.batch" in r.getMessage() and "boom" in r.getMessage() for r in caplog.records)


def test_an_async_receiver_still_gets_every_event(connected, django_capture_on_commit_callbacks):
    got: list[int] = []

    async def async_receiver(sender, name, payload, **kwargs):
        got.append(payload["n"])

    domain_event.connect(async_receiver, weak=False, dispatch_uid="test-batch-async")
    try:
        with django_capture_on_commit_callbacks(execute=True):
            event_emit_many("test.batch", [{"n": 1}, {"n": 3}])
    finally:
        domain_event.disconnect(dispatch_uid="test-batch-async")
    assert got == [1, 3]
    assert [s[2] for s in connected if s[0] == "recording" and s[1] == "test.batch"] == [1, 3]
