"""Issue #14: 403, 404 and 500 outside the API are the workspace's pages with a way back for signed-in staff (a
plain branded page otherwise), with DEBUG on as in the embedded default; the API keeps its JSON error bodies."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff and team tree (teams.tests.factories.demo_staff), not the whole demo seed."""
    return demo_staff()


def _staff_client(user) -> Client:
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


def _in_layout(html: str) -> bool:
    return 'data-testid="error-page"' in html and 'data-testid="menu-toggle"' in html and "Log out" in html


@pytest.mark.parametrize("debug", [True, False])
def test_unknown_url_is_the_workspace_404_for_staff_not_djangos_debug_page(demo, debug):
    with override_settings(DEBUG=debug):
        response = _staff_client(demo["agent"]).get("/no-such-page/", HTTP_REFERER="http://testserver/customers/")
    html = response.content.decode()
    assert response.status_code == 404
    assert _in_layout(html), html[:500]
    assert "URLconf" not in html and "technical" not in html.lower()
    assert 'href="http://testserver/customers/"' in html and 'data-testid="error-home"' in html


def test_object_out_of_scope_is_the_workspace_404(demo):
    with override_settings(DEBUG=True):
        response = _staff_client(demo["agent"]).get("/customers/999999/")
    assert response.status_code == 404 and _in_layout(response.content.decode())


@pytest.mark.parametrize("debug", [True, False])
def test_forbidden_page_is_the_workspace_403(demo, debug):
    from teams.models import Role, User

    role = Role.objects.create(name="viewer", permissions=["customers.view"], customer_view_scope="team")
    viewer = User.objects.create_user("viewer@demo.test", "viewer-password-Xy9", team=demo["agent"].team, role=role)
    with override_settings(DEBUG=debug):
        response = _staff_client(viewer).get("/approvals/")
    html = response.content.decode()
    assert response.status_code == 403 and _in_layout(html)
    assert "Your role does not allow" in html


@pytest.mark.parametrize("debug", [True, False])
def test_visitors_get_a_plain_branded_page(db, debug):
    with override_settings(DEBUG=debug):
        response = Client().get("/no-such-page/")
    html = response.content.decode()
    assert response.status_code == 404 and 'data-testid="error-page"' in html
    assert "menu-toggle" not in html and 'href="/login/"' in html
    with override_settings(DEBUG=debug):
        response = Client().get("/client/no-such-page/")
    assert response.status_code == 404 and 'href="/client/"' in response.content.decode()


@pytest.mark.urls("brokercrm.tests.urls_crash")
@pytest.mark.parametrize("debug", [True, False])
def test_crash_is_the_workspace_500_without_the_exception_text(demo, debug):
    with override_settings(DEBUG=debug):
        response = _staff_client(demo["agent"]).get("/crash/")
        api = _staff_client(demo["agent"]).get("/api/crash")
    html = response.content.decode()
    assert response.status_code == 500 and _in_layout(html)
    assert "secret@example.com" not in html and "Traceback" not in html
    assert api.status_code == 500 and api.json()["code"] == "server_error"
    assert "secret@example.com" not in api.content.decode()
    # Error reporters still hear of the crash (got_request_exception): the test client re-raises it by default.
    client = Client()
    client.force_login(demo["agent"])
    with pytest.raises(RuntimeError), override_settings(DEBUG=debug):
        client.get("/crash/")


@pytest.mark.parametrize("debug", [True, False])
def test_api_keeps_its_json_error_bodies(demo, debug):
    with override_settings(DEBUG=debug):
        missing = _staff_client(demo["agent"]).get("/api/no-such-endpoint")
        customer = _staff_client(demo["agent"]).get("/api/crm/customers/999999")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    assert customer.status_code == 404 and customer["Content-Type"].startswith("application/json")


def test_a_form_without_its_csrf_token_gets_the_403_page_in_words(client, django_user_model):
    """CSRF failures answer the workspace's 403 page (what to do), not Django's bare page."""
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = strict.post("/login/", {"username": "x@example.com", "password": "y"})
    assert response.status_code == 403
    text = response.content.decode()
    assert "Form expired" in text and "Reload the page" in text
    assert "CSRF verification failed" not in text
