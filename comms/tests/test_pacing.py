"""The per-channel pace itself, on Redis and on the embedded default's file lock (issue #12)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings as django_settings

from comms import conf, pacing
from comms.providers import retry_after_seconds


@pytest.fixture(params=["redis", "file"])
def backend(request, settings, tmp_path, monkeypatch):
    if request.param == "redis":
        if not django_settings.REDIS_URL:
            pytest.skip("needs Redis")
        from django.core.cache import cache

        cache.clear()
    else:
        settings.REDIS_URL = ""
        settings.VAR_DIR = tmp_path
    monkeypatch.setattr(conf, "COMMS_SMS_RATE", 5.0)
    monkeypatch.setattr(conf, "COMMS_EMAIL_RATE", 0.0)
    return request.param


def test_slots_are_spaced_by_the_rate_and_far_ones_refused(backend):
    waits = [pacing.pace_take("sms", max_wait=1.0) for _ in range(7)]
    assert all(granted for granted, _ in waits[:6])
    assert [round(w, 1) for _, w in waits[:6]] == [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    granted, wait = waits[6]
    assert not granted and wait == pytest.approx(1.2, abs=0.05)  # nothing reserved: the next ask gets the same
    assert pacing.pace_take("sms", max_wait=1.0)[1] == pytest.approx(1.2, abs=0.05)
    assert pacing.pace_take("email") == (True, 0.0)  # 0 = unpaced


def test_a_slow_rate_never_refuses_an_idle_channel(backend, monkeypatch):
    monkeypatch.setattr(conf, "COMMS_SMS_RATE", 0.1)  # 6/m: slots 10 s apart
    assert pacing.pace_take("sms", max_wait=2) == (True, 0.0)
    granted, wait = pacing.pace_take("sms", max_wait=2)
    assert granted and wait == pytest.approx(10, abs=0.1)


def test_a_block_pushes_every_later_slot(backend):
    assert pacing.pace_blocked_for("sms") == 0
    pacing.pace_block("sms", 3)
    assert 2.5 < pacing.pace_blocked_for("sms") <= 3
    granted, wait = pacing.pace_take("sms", max_wait=1.0)
    assert not granted and wait == pytest.approx(3, abs=0.1)
    assert pacing.pace_take("sms", max_wait=5.0)[0]


def test_retry_after_header_forms():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    from email.utils import formatdate

    assert 8 <= retry_after_seconds(formatdate(time.time() + 10, usegmt=True)) <= 10


@pytest.mark.parametrize("rate,per_second", [("10/s", 10.0), ("600/m", 10.0), ("7", 7.0), ("0", 0.0)])
def test_rate_setting_forms(monkeypatch, rate, per_second):
    monkeypatch.setenv("X_RATE", rate)
    assert conf.env_rate("X_RATE", "1/s") == per_second


def test_bad_rate_setting_is_refused(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    monkeypatch.setenv("X_RATE", "fast")
    with pytest.raises(ImproperlyConfigured):
        conf.env_rate("X_RATE", "1/s")
