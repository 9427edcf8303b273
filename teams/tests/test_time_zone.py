"""Issue #14: times in the staff member's own time zone (a profile setting, validated against zoneinfo, activated per
request by brokercrm.middleware.TimeZoneMiddleware), with the zone shown next to every time."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client

from customers.tests.factories import CustomerFactory
from teams.models import AuditLog, User
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff and one customer of the agent (for a task and the customer page)."""
    staff = demo_staff()
    CustomerFactory(assigned_to=staff["agent"])
    return staff


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_profile_page_sets_a_valid_zone_and_audits_it(demo):
    agent = demo["agent"]
    client = _client(agent)
    page = client.get("/account/profile/").content.decode()
    assert '<label for="id_time_zone">Time zone</label>' in page and "Europe/Berlin" in page
    response = client.post("/account/profile/", {"time_zone": "Europe/Berlin"}, follow=True)
    assert response.status_code == 200 and "Times are now shown in Europe/Berlin" in response.content.decode()
    agent.refresh_from_db()
    assert agent.time_zone == "Europe/Berlin"
    entry = AuditLog.objects.filter(action="user.time_zone_changed", object_id=str(agent.pk)).get()
    assert entry.before == {"time_zone": ""} and entry.after == {"time_zone": "Europe/Berlin"}
    # Blank: back to the server's zone.
    client.post("/account/profile/", {"time_zone": ""})
    agent.refresh_from_db()
    assert agent.time_zone == ""


@pytest.mark.parametrize("value", ["Mars/Olympus_Mons", "europe/berlin", "../../etc/passwd", "x" * 200])
def test_profile_refuses_an_unknown_zone_in_words(demo, value):
    agent = demo["agent"]
    response = _client(agent).post("/account/profile/", {"time_zone": value})
    html = response.content.decode()
    assert response.status_code == 400
    assert 'data-testid="time-zone-error"' in html and "Unknown time zone" in html and 'aria-invalid="true"' in html
    agent.refresh_from_db()
    assert agent.time_zone == ""


def _task_due_at_noon_utc(demo):
    from crm.models import Task
    from customers.models import Customer

    customer = Customer.objects.filter(assigned_to=demo["agent"]).order_by("pk").first()
    return Task.objects.create(customer=customer, title="Call back", assignee=demo["agent"],
                               due_at=datetime(2030, 1, 15, 12, 0, tzinfo=UTC))


def test_times_are_shown_in_the_users_zone_with_the_zone(demo):
    _task_due_at_noon_utc(demo)
    agent = demo["agent"]
    assert "2030-01-15 12:00 UTC" in _client(agent).get("/tasks/").content.decode()
    User.objects.filter(pk=agent.pk).update(time_zone="Asia/Tokyo")
    agent.refresh_from_db()
    html = _client(agent).get("/tasks/").content.decode()
    assert "2030-01-15 21:00 JST" in html and "12:00 UTC" not in html
    User.objects.filter(pk=agent.pk).update(time_zone="Asia/Dubai")  # a zone without a letter abbreviation
    agent.refresh_from_db()
    assert "2030-01-15 16:00 +04" in _client(agent).get("/tasks/").content.decode()


def test_the_zone_is_per_request_not_leaked_to_the_next_user(demo):
    _task_due_at_noon_utc(demo)
    User.objects.filter(pk=demo["agent"].pk).update(time_zone="Asia/Tokyo")
    demo["agent"].refresh_from_db()
    _client(demo["agent"]).get("/tasks/")
    # The manager has no zone set: the same task reads in UTC right after the agent's request.
    manager = demo["manager"]
    html = _client(manager).get("/tasks/?scope=all").content.decode() + _client(manager).get(
        f"/customers/{_task_customer_id(demo)}/").content.decode()
    assert "2030-01-15 12:00 UTC" in html and "JST" not in html


def _task_customer_id(demo):
    from crm.models import Task

    return Task.objects.filter(title="Call back").values_list("customer_id", flat=True).first()


def test_a_task_due_time_is_read_in_the_users_zone(demo):
    from crm.models import Task

    agent = demo["agent"]
    User.objects.filter(pk=agent.pk).update(time_zone="Asia/Tokyo")
    agent.refresh_from_db()
    customer_id = _task_customer_id(demo) or _task_due_at_noon_utc(demo).customer_id
    client = _client(agent)
    assert "(JST)" in client.get(f"/customers/{customer_id}/").content.decode()  # the zone beside the input
    client.post(f"/customers/{customer_id}/task", {"title": "Tokyo morning call", "due_at": "2030-03-01T09:00"})
    task = Task.objects.get(title="Tokyo morning call")
    assert task.due_at == datetime(2030, 3, 1, 0, 0, tzinfo=UTC)


def test_an_unknown_stored_zone_falls_back_to_the_server_zone(demo):
    _task_due_at_noon_utc(demo)
    User.objects.filter(pk=demo["agent"].pk).update(time_zone="Nowhere/Land")  # bypasses the validator
    demo["agent"].refresh_from_db()
    response = _client(demo["agent"]).get("/tasks/")
    assert response.status_code == 200 and "2030-01-15 12:00 UTC" in response.content.decode()
