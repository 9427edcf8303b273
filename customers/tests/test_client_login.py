"""Issue #10, sign-in: the client area's login is locked like staff logins and doesn't reveal known emails."""

from __future__ import annotations

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

from customers.models import Customer
from customers.tests.factories import CustomerFactory
from teams.demo import DEMO_PASSWORD
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff (a staff login is another lockout namespace) and one customer who signs in with the demo's
    password."""
    staff = demo_staff()
    CustomerFactory(assigned_to=staff["agent"], password=DEMO_PASSWORD)
    return staff


URL = "/client/login/"


class CountingHasher(MD5PasswordHasher):
    """MD5 (the test hasher) that counts how often a password is hashed."""

    algorithm = "counting_md5"
    calls = 0

    def encode(self, password, salt, *args, **kwargs):
        CountingHasher.calls += 1
        return super().encode(password, salt, *args, **kwargs)


def test_wrong_passwords_lock_the_client_account(demo, settings):
    """Issue #10: 30 wrong passwords, then the right one logged in."""
    settings.AXES_FAILURE_LIMIT = 5
    customer = Customer.objects.first()
    for i in range(settings.AXES_FAILURE_LIMIT):
        response = Client(REMOTE_ADDR=f"10.3.0.{i}").post(URL, {"email": customer.email, "password": "nope"})
        assert response.status_code in (200, 429)
    browser = Client(REMOTE_ADDR="10.3.9.9")
    response = browser.post(URL, {"email": customer.email, "password": "demo-password"})
    assert response.status_code == 429 and b"Too many failed sign-ins" in response.content
    assert response["Retry-After"]
    assert "customer_id" not in browser.session
    # Staff accounts are another namespace: the same lockout does not touch them.
    staff = Client(REMOTE_ADDR="10.3.9.8")
    assert staff.post("/login/", {"username": "agent@demo.test", "password": "demo-password"}).status_code == 302


def test_right_password_logs_in_and_clears_failures(demo, settings):
    settings.AXES_FAILURE_LIMIT = 3
    customer = Customer.objects.first()
    browser = Client()
    browser.post(URL, {"email": customer.email, "password": "nope"})
    browser.post(URL, {"email": customer.email, "password": "nope"})
    response = browser.post(URL, {"email": customer.email, "password": "demo-password"})
    assert response.status_code == 302 and browser.session["customer_id"] == customer.pk
    # The counter restarted: two more failures don't lock.
    other = Client()
    other.post(URL, {"email": customer.email, "password": "nope"})
    other.post(URL, {"email": customer.email, "password": "nope"})
    assert other.post(URL, {"email": customer.email, "password": "demo-password"}).status_code == 302


def test_unknown_and_known_emails_both_hash_a_password(demo, settings):
    """Issue #10: 0.21 s for a known email against 0.01 s for an unknown one."""
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher", *settings.PASSWORD_HASHERS]
    customer = Customer.objects.first()
    customer.set_password("demo-password")
    customer.save(update_fields=["password"])

    CountingHasher.calls = 0
    Client().post(URL, {"email": customer.email, "password": "wrong-password"})
    known = CountingHasher.calls
    CountingHasher.calls = 0
    response = Client().post(URL, {"email": "nobody-here@example.org", "password": "wrong-password"})
    unknown = CountingHasher.calls
    assert response.status_code == 200 and b"The email or password is wrong." in response.content
    assert known == unknown == 1
