"""Platform contract: health, the error body on every kind of error, the OpenAPI schema."""

from __future__ import annotations

import pytest

from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff and one customer with a trading account, without agent or team (as the demo's newest)."""
    staff = demo_staff()
    customer_with_account("GB")
    return staff


def test_health_reports_real_database_and_redis(api, settings):
    body = api.get("/api/health").json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["redis"] == ("ok" if settings.REDIS_URL else "not_configured")


def test_health_reports_redis_down(api, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    response = api.get("/api/health")
    assert response.status_code == 503 and response.json()["redis"] == "error"


@pytest.mark.parametrize(
    "method,path,status,code",
    [
        ("get", "/api/does-not-exist", 404, "not_found"),
        ("post", "/api/crm/customers", 405, "method_not_allowed"),
        ("get", "/api/crm/customers/999999", 404, "not_found"),
    ],
)
def test_error_body(client_for, method, path, status, code):
    response = getattr(client_for("admin"), method)(path)
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["detail"]


def test_invalid_json_is_400(client_for, demo):
    from customers.models import Customer

    pk = Customer.objects.first().pk
    response = client_for("admin").patch(f"/api/crm/customers/{pk}", "{bad", content_type="application/json")
    assert response.status_code == 400 and response.json()["code"] == "invalid_json"


def test_validation_error_has_fields(client_for, demo):
    response = client_for("admin").post("/api/platform/roles", {"name": ""}, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_error" and "name" in body["fields"]


def test_oversized_body_is_413(client_for, demo, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    response = client_for("admin").post("/api/platform/roles", {"name": "x" * 5000}, format="json")
    assert response.status_code == 413 and response.json()["code"] == "too_large"


def test_unhandled_error_is_json_500_without_details(client_for, demo, monkeypatch):
    from customers.api import views

    def boom(*args, **kwargs):
        raise RuntimeError("secret john.doe@example.com")

    monkeypatch.setattr(views.CustomerViewSet, "get_queryset", boom)
    client = client_for("admin")
    client.raise_request_exception = False
    response = client.get("/api/crm/customers")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"
    assert b"john.doe" not in response.content


def test_schema_documents_error_responses(api):
    import yaml

    response = api.get("/api/schema/")
    assert response.status_code == 200
    schema = yaml.safe_load(response.content)
    op = schema["paths"]["/api/crm/customers/{id}"]["get"]
    assert {"200", "401", "404"} <= set(op["responses"])
    assert api.get("/api/docs/").status_code == 200
