"""Issue #10, sign-in: throttles and lockouts read the client address through TRUSTED_PROXY_COUNT proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory
from rest_framework.request import Request
from rest_framework.test import APIClient
from rest_framework.throttling import BaseThrottle

from brokercrm.clientip import client_ip
from customers.models import RegistrationPath
from customers.tests.factories import registration_setup
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


def _staff_and_paths():
    staff = demo_staff()
    registration_setup()
    return staff


@pytest.fixture
def demo(db):
    """The demo's staff (a staff login to lock out) and the registration paths, not the whole demo seed."""
    return _staff_and_paths()


@pytest.fixture
def demo_committed(transactional_db):
    """The same, committed so that the live server process sees it."""
    return _staff_and_paths()


def registration(i: int, **headers):
    body = {"email": f"forged{i}@example.net", "password": "TestPass1234x", "first_name": "Jane", "last_name": "Roe",
            "phone": f"+4479111{i:05d}", "country": "GB", "source": "organic", "promo_code": None,
            "affiliate_id": None}
    return APIClient().post("/api/customer/register", body, format="json", REMOTE_ADDR="203.0.113.5", **headers)


def test_forged_forwarded_for_does_not_escape_the_registration_limit(demo):
    """Issue #10: 25 registrations with 25 forged X-Forwarded-For addresses all passed a 20/min limit."""
    RegistrationPath.objects.filter(source="organic").update(rate_limit="5/min")
    statuses = [registration(i, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(8)]
    assert statuses[:5] == [201] * 5 and statuses[5:] == [429] * 3


def test_forged_forwarded_for_does_not_escape_a_lockout(demo, settings):
    settings.AXES_FAILURE_LIMIT = 50
    settings.AXES_IP_FAILURE_LIMIT = 3
    for i in range(3):
        APIClient().post("/api/auth/token", {"email": f"x{i}@demo.test", "password": "guess"}, format="json",
                         REMOTE_ADDR="203.0.113.6", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    response = APIClient().post("/api/auth/token", {"email": "agent@demo.test", "password": "demo-password"},
                                format="json", REMOTE_ADDR="203.0.113.6", HTTP_X_FORWARDED_FOR="192.0.2.1")
    assert response.status_code == 429


@pytest.mark.parametrize(
    "count,forwarded,expected",
    [
        (0, None, "10.0.0.1"),
        (0, "1.2.3.4", "10.0.0.1"),
        (1, None, "10.0.0.1"),
        (1, "1.2.3.4", "1.2.3.4"),
        (1, "6.6.6.6, 1.2.3.4", "1.2.3.4"),
        (2, "6.6.6.6, 1.2.3.4, 10.0.0.9", "1.2.3.4"),
        (2, "1.2.3.4", "1.2.3.4"),
    ],
)
def test_client_ip_counts_trusted_proxies_like_drf(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": count}
    extra = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="10.0.0.1", **extra)
    assert client_ip(request) == expected
    # DRF's own reading (NUM_PROXIES) and axes' callable agree with the helper.
    assert BaseThrottle().get_ident(Request(request)) == expected
    from axes.helpers import get_client_ip_address

    assert get_client_ip_address(request) == expected


def test_settings_wire_one_helper(settings):
    from django.conf import settings as live

    assert live.AXES_CLIENT_IP_CALLABLE == "brokercrm.clientip.client_ip"
    assert live.REST_FRAMEWORK["NUM_PROXIES"] == live.TRUSTED_PROXY_COUNT == 0


@pytest.mark.django_db(transaction=True)
def test_forged_forwarded_for_changes_nothing_through_the_real_server(demo_committed, live_url):
    """The server process (uvicorn) must not trust X-Forwarded-For either: only TRUSTED_PROXY_COUNT decides."""
    import httpx

    RegistrationPath.objects.filter(source="organic").update(rate_limit="3/min")
    statuses = []
    for i in range(5):
        body = {"email": f"live{i}@example.net", "password": "TestPass1234x", "first_name": "Jane",
                "last_name": "Roe", "phone": f"+4479112{i:05d}", "country": "GB", "source": "organic"}
        statuses.append(httpx.post(f"{live_url}/api/customer/register", json=body, timeout=30,
                                   headers={"X-Forwarded-For": f"198.51.100.{i}"}).status_code)
    assert statuses == [201, 201, 201, 429, 429]
