"""Production mode scales out: two web processes and two Celery workers on one PostgreSQL and one Redis."""

from __future__ import annotations

import time
import uuid

import httpx
import pytest
from django.conf import settings
from django.core.cache import cache

from devtools.testing import free_port, process_env, running, uvicorn_cmd, worker_cmd

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.mark.skipif(not settings.REDIS_URL, reason="production mode needs REDIS_URL")
def test_two_web_and_two_worker_processes_share_state(demo):
    # A broker DB of this test's own, so no other suite's workers take these tasks.
    broker = settings.REDIS_URL.rsplit("/", 1)[0] + "/11"
    env = process_env(REDIS_URL=settings.REDIS_URL, CELERY_BROKER_URL=broker)
    ports = [free_port(), free_port()]
    with (
        running(uvicorn_cmd(ports[0]), env=env, ready_url=f"http://127.0.0.1:{ports[0]}/api/health", log_name="web1"),
        running(uvicorn_cmd(ports[1]), env=env, ready_url=f"http://127.0.0.1:{ports[1]}/api/health", log_name="web2"),
        running(worker_cmd("w1"), env=env, log_name="w1"),
        running(worker_cmd("w2"), env=env, log_name="w2"),
    ):
        web1, web2 = (f"http://127.0.0.1:{p}" for p in ports)
        # A token issued by one web process authenticates on the other (shared database).
        token = httpx.post(f"{web1}/api/auth/token", json={"email": "admin@demo.test",
                                                             "password": "demo-password"}).json()["token"]
        headers = {"Authorization": f"Token {token}"}
        for web in (web1, web2):
            health = httpx.get(f"{web}/api/health").json()
            assert health == {"status": "ok", "database": "ok", "redis": "ok"}
            assert httpx.get(f"{web}/api/crm/customers", headers=headers).status_code == 200

        # Work spreads over both workers.
        from brokercrm.celery import app

        key = f"scale-out:{uuid.uuid4()}"
        with app.connection_for_write(broker) as conn:
            # Each task holds its worker for a moment, so a worker that starts a little later still gets work.
            ids = [app.send_task("brokercrm.worker_ping", kwargs={"key": key, "hold_seconds": 0.3},
                                 connection=conn).id for _ in range(40)]
        deadline = time.monotonic() + 60
        seen: dict = {}
        while time.monotonic() < deadline and len(seen) < len(ids):
            seen = {k: v for k, v in cache.get_many([f"{key}:{i}" for i in ids]).items() if v}
            time.sleep(0.25)
        assert len(seen) == len(ids)
        assert len(set(seen.values())) >= 2, seen
