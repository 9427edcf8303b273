"""`make run`'s process set (scripts/run.sh) stops completely within 10 s of Ctrl-C (issue #12)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from devtools.testing import ROOT, free_port, process_env

pytestmark = pytest.mark.slow


def descendants(root: int) -> set[int]:
    """Every live process under `root` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def commands(pids) -> list[str]:
    out = []
    for pid in pids:
        with contextlib.suppress(OSError):  # gone meanwhile
            out.append(Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()[:90])
    return out


def as_from_a_terminal():  # a shell started in the background ignores SIGINT; a terminal's foreground job doesn't
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def stop_like_ctrl_c(proc) -> tuple[float, list[str]]:
    """SIGINT to the foreground process group, as the terminal sends it; (seconds until all gone, survivors)."""
    tree = descendants(proc.pid) | {proc.pid}
    t0 = time.monotonic()
    os.killpg(proc.pid, signal.SIGINT)
    while any(alive(pid) for pid in tree) and time.monotonic() - t0 < 15:
        time.sleep(0.1)
    return time.monotonic() - t0, commands([pid for pid in tree if alive(pid)])


def test_ctrl_c_on_run_stops_every_process_within_10_seconds(tmp_path):
    """The embedded default (temp SQLite, filesystem broker): web, a worker per queue with its pool, beat."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(BROKERCRM_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="brokercrm.settings", DEBUG="true")
    subprocess.run([str(ROOT / ".venv/bin/python"), "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    port = free_port()
    with open(tmp_path / "run.log", "w") as log:
        proc = subprocess.Popen(["scripts/run.sh", str(port)], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=as_from_a_terminal)
    try:
        deadline = time.monotonic() + 120
        while True:  # the web answers and every worker has its pool: 5 children of run.sh, 2 pool processes each
            tree = descendants(proc.pid)
            try:
                up = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=2).status_code == 200
            except httpx.HTTPError:
                up = False
            workers = [c for c in commands(tree) if " worker " in c]
            if up and len(workers) >= 9:
                break
            assert time.monotonic() < deadline and proc.poll() is None, (tree, (tmp_path / "run.log").read_text())
            time.sleep(0.5)
        time.sleep(2)
        tree = descendants(proc.pid) | {proc.pid}
        t0 = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's foreground process group
        names = dict(zip(tree, commands(tree), strict=False))
        gone: dict[int, float] = {}
        while any(alive(pid) for pid in tree) and time.monotonic() - t0 < 15:
            for pid in tree:
                if pid not in gone and not alive(pid):
                    gone[pid] = time.monotonic() - t0
            time.sleep(0.1)
        for pid, at in sorted(gone.items(), key=lambda x: x[1]):
            print(f"{at:5.1f}s {names.get(pid, pid)}")
        elapsed = time.monotonic() - t0
        left = [pid for pid in tree if alive(pid)]
        assert not left and elapsed < 10, (elapsed, commands(left), (tmp_path / "run.log").read_text()[-3000:])
        print(f"stopped {len(tree)} processes in {elapsed:.1f}s")
    finally:
        for pid in descendants(proc.pid) | {proc.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not settings.REDIS_URL, reason="production mode runs on PostgreSQL + Redis")
def test_make_run_in_production_mode(tmp_path):
    """DEBUG=false with DATABASE_URL/REDIS_URL: `make run` migrates, collects static files, skips the demo seed (and
    says so) instead of refusing, serves pages with their static files, and stops on Ctrl-C."""
    port = free_port()
    env = process_env(REDIS_URL=settings.REDIS_URL)
    env.update(DEBUG="false", SECRET_KEY="p" * 30 + "r" * 30, ALLOWED_HOSTS="127.0.0.1",
               BROKERCRM_VAR_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="brokercrm.settings")
    with open(tmp_path / "make.log", "w") as log:
        # `-o`: the shared virtualenv counts as installed (make must not run pip here).
        proc = subprocess.Popen(["make", "-o", ".venv/.installed", "run", f"PORT={port}"], cwd=ROOT, env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                                preexec_fn=as_from_a_terminal)
    https = {"X-Forwarded-Proto": "https"}  # as the TLS proxy in front of it says
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/health", headers=https, timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline and proc.poll() is None, (tmp_path / "make.log").read_text()[-3000:]
            time.sleep(0.5)
        output = (tmp_path / "make.log").read_text()
        assert "production mode (DEBUG=false): skipping the demo seed" in output
        assert "static files collected" in output and "refuses" not in output
        assert (tmp_path / "staticfiles" / "staticfiles.json").exists()
        login = httpx.get(f"http://127.0.0.1:{port}/login/", headers=https, timeout=10)
        assert login.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/login/", timeout=10).status_code == 301  # plain HTTP → HTTPS
        for path in {p.split('"')[0] for p in login.text.split('/static/')[1:]}:
            assert httpx.get(f"http://127.0.0.1:{port}/static/{path}", headers=https, timeout=10).status_code == 200
        elapsed, left = stop_like_ctrl_c(proc)
        assert not left and elapsed < 10, (elapsed, left)
    finally:
        for pid in descendants(proc.pid) | {proc.pid}:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait()
