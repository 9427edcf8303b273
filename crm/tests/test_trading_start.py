"""The in-process trading simulator of the embedded default starts from its ASGI entry point, not from
`CrmConfig.ready()` (#11): loading the apps (management commands, workers, tests) starts no thread."""

from __future__ import annotations

import subprocess
import sys
import threading

from django.apps import apps

from devtools.testing import ROOT, process_env

SHOW_THREADS = "import threading; print(sorted(t.name for t in threading.enumerate()))"


def test_app_loading_starts_no_simulator(monkeypatch):
    monkeypatch.setenv("BROKERCRM_INPROCESS_SIMULATOR", "true")  # what scripts/run.sh used to set for the web
    apps.get_app_config("crm").ready()
    assert "trading-simulator" not in {t.name for t in threading.enumerate()}


def _threads_after(code: str) -> str:
    env = process_env(BROKERCRM_INPROCESS_SIMULATOR="true")
    done = subprocess.run([sys.executable, "-c", f"{code}; {SHOW_THREADS}"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_embedded_asgi_entry_point_starts_it_and_the_plain_one_does_not():
    assert "trading-simulator" in _threads_after("from crm.trading.asgi import application")
    assert "trading-simulator" not in _threads_after("from brokercrm.asgi import application")
