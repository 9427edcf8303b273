"""Helpers for tests that run real processes (uvicorn, Celery workers) against the test database."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
from django.conf import settings
from django.db import connection

from brokercrm.celery import QUEUES

ROOT = Path(settings.BASE_DIR)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_env(**extra: str) -> dict[str, str]:
    """The environment of a child process that sees the test database (pytest-django's `test_…`)."""
    env = dict(os.environ)
    db = connection.settings_dict
    if db["ENGINE"].endswith("postgresql"):
        env["DATABASE_URL"] = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
    # settings_test differs from production settings only by a fast password hasher (the test users use it).
    env.update(DJANGO_SETTINGS_MODULE="brokercrm.settings_test", DEBUG="true", PYTHONUNBUFFERED="1", **extra)
    return env


@contextmanager
def running(cmd: list[str], *, env: dict[str, str], ready_url: str | None = None, timeout: float = 30.0,
            log_name: str = "proc"):
    """Run `cmd` as a child process for the duration of the block; wait until `ready_url` answers."""
    with open(ROOT / "var" / f"test-{log_name}.log", "w") as log:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        if ready_url:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    httpx.get(ready_url, timeout=1.0)
                    break
                except httpx.HTTPError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"{cmd[0]} did not start; see {log.name}") from None
                    time.sleep(0.2)
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def uvicorn_cmd(port: int) -> list[str]:
    # --no-proxy-headers: X-Forwarded-For is read by brokercrm.clientip (TRUSTED_PROXY_COUNT) only.
    return [sys.executable, "-m", "uvicorn", "brokercrm.asgi:application", "--host", "127.0.0.1", "--port",
            str(port), "--log-level", "warning", "--no-proxy-headers"]


def worker_cmd(name: str, *, concurrency: int = 1, queues: str | None = None) -> list[str]:
    cmd = [sys.executable, "-m", "celery", "-A", "brokercrm", "worker", "-n", f"{name}@%h", "--concurrency",
           str(concurrency), "--loglevel", "warning", "--without-gossip", "--without-mingle", "--pool", "prefork"]

    return cmd + ["-Q", queues or ",".join(QUEUES)]  # by default every queue, as one worker of `make run` did
