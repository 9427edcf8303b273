"""The workspace login page after a lockout renders teams' own LoginForm (it was crm's: teams imported crm, #11)."""

from __future__ import annotations

import pytest

from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff and teams (teams.tests.factories.demo_staff), not the whole demo seed."""
    return demo_staff()


def test_locked_out_login_page_is_429_with_the_login_form(client, demo, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/login/", {"username": "agent@demo.test", "password": "nope"})
    response = client.post("/login/", {"username": "agent@demo.test", "password": "demo-password"})
    assert response.status_code == 429 and "Retry-After" in response
    assert response.context["locked"] is True
    form = response.context["form"]
    assert type(form).__module__ == "teams.forms" and "username" in form.fields
    assert b'type="email"' in response.content
