"""Production mode: a real SECRET_KEY is required, and `check --deploy` passes; strict environment parsing."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile

from django.conf import settings

ROOT = settings.BASE_DIR


def manage(*args, **env):
    # The checks need no server: drop the test run's database and Redis, use a scratch var directory.
    drop = ("SECRET_KEY", "DEBUG", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL",
            "DJANGO_ALLOW_ASYNC_UNSAFE")  # the browser fixture sets the last one for its own thread
    base = {k: v for k, v in os.environ.items() if k not in drop}
    base["BROKERCRM_VAR_DIR"] = tempfile.mkdtemp(prefix="brokercrm-settings-")
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env={**base, **env, "DJANGO_SETTINGS_MODULE":
                          "brokercrm.settings"}, capture_output=True, text=True, timeout=120)


def test_production_refuses_to_start_without_a_real_secret_key():
    result = manage("check", DEBUG="false")
    assert result.returncode != 0 and "SECRET_KEY must be set" in result.stderr


def test_production_passes_check_deploy():
    result = manage("check", "--deploy", DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60),
                    ALLOWED_HOSTS="crm.example.com")
    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_malformed_booleans_are_refused():
    result = manage("check", DEBUG="yes")
    assert result.returncode != 0 and "DEBUG must be 'true' or 'false'" in result.stderr
