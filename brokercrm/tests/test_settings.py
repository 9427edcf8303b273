"""Production mode: a real SECRET_KEY is required, and `check --deploy` passes; strict environment parsing."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile

import pytest
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


# --- issue #10: no secret defaults to a slice of SECRET_KEY ------------------------------------------------------

def _production(**env):
    return manage("check", DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60), ALLOWED_HOSTS="crm.example.com", **env)


def test_production_refuses_sms_callbacks_without_their_token():
    result = _production(SMS_PROVIDER_URL="https://sms.example.com")
    assert result.returncode != 0 and "COMMS_CALLBACK_TOKEN must be set" in result.stderr
    assert _production(SMS_PROVIDER_URL="https://sms.example.com", COMMS_CALLBACK_TOKEN="x" * 40).returncode == 0


def test_production_refuses_the_sandbox_cashier_without_its_secret():
    result = _production(SANDBOX_PAYMENTS_ENABLED="true")
    assert result.returncode != 0 and "SANDBOX_PAYMENTS_SECRET must be set" in result.stderr
    assert _production(SANDBOX_PAYMENTS_ENABLED="true", SANDBOX_PAYMENTS_SECRET="y" * 40).returncode == 0


def test_no_secret_is_derived_from_secret_key():
    """Issue #10: COMMS_CALLBACK_TOKEN was SECRET_KEY[:32] and the sandbox secret was SECRET_KEY itself."""
    key = secrets.token_urlsafe(60)
    code = ("from comms import conf as c; from ledger import conf as l; from django.conf import settings as s; "
            "k = s.SECRET_KEY; print(repr(c.COMMS_CALLBACK_TOKEN), repr(l.SANDBOX_SECRET), "
            "any(v and (v in k or k.startswith(v)) for v in (c.COMMS_CALLBACK_TOKEN, l.SANDBOX_SECRET)))")
    dev = manage("shell", "-c", code, DEBUG="true", SECRET_KEY=key)
    assert dev.returncode == 0, dev.stderr
    assert dev.stdout.strip().endswith("False") and dev.stdout.count("'") >= 4  # generated, non-empty
    prod = manage("shell", "-c", code, DEBUG="false", SECRET_KEY=key, ALLOWED_HOSTS="crm.example.com")
    assert prod.returncode == 0, prod.stderr
    assert prod.stdout.strip().endswith("'' '' False")  # features off: no secret at all, callbacks refuse everyone


@pytest.mark.django_db
def test_callbacks_refuse_everyone_when_no_token_is_configured(monkeypatch):
    from rest_framework.test import APIClient

    from comms import conf

    monkeypatch.setattr(conf, "COMMS_CALLBACK_TOKEN", "")
    response = APIClient().post("/api/platform/sms/callbacks", {"id": "x", "status": "delivered"}, format="json",
                                HTTP_X_CALLBACK_TOKEN="")
    assert response.status_code == 401 and response.json()["code"] == "invalid_signature"


def test_production_enforces_staff_2fa_by_default():
    code = "from django.conf import settings as s; print('ENFORCED', s.STAFF_2FA_ENFORCED)"
    prod = manage("shell", "-c", code, DEBUG="false", SECRET_KEY=secrets.token_urlsafe(60),
                  ALLOWED_HOSTS="crm.example.com")
    assert prod.returncode == 0, prod.stderr
    assert "ENFORCED True" in prod.stdout
    dev = manage("shell", "-c", code, DEBUG="true")
    assert "ENFORCED False" in dev.stdout
