"""Issue #10, "Never a 500 on bad input": each reproduced case answers a 4xx with its API.md code (or, for input
that is in fact valid, the normal answer), on the API and on the workspace pages."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff and one customer with a trading account, without agent or team (as the demo's newest)."""
    staff = demo_staff()
    customer_with_account("GB")
    return staff


DEEP = b"[" * 50_000 + b"]" * 50_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000


def api_as(demo, persona):
    client = APIClient()
    if persona:
        client.force_authenticate(demo[persona])
    return client


def page_as(demo, persona):
    client = Client()
    client.force_login(demo[persona])
    return client


def _json(body):
    return {"data": body if isinstance(body, bytes) else json.dumps(body), "content_type": "application/json"}


def _form(pairs):
    from urllib.parse import urlencode

    return {"data": urlencode(pairs), "content_type": "application/x-www-form-urlencoded"}


TOO_MANY_FIELDS = [("customer_ids", str(i)) for i in range(1, 1201)] + [("agent_ids", "1")]

# (id, persona, method, path, request kwargs, expected status, expected API.md code or None for pages)
API_CASES = [
    ("activity-agent-superscript", "manager", "get", "/api/crm/activity?agent=%C2%B2", {}, 400, "validation_error"),
    ("activity-team-superscript", "manager", "get", "/api/crm/activity?team=%C2%B2", {}, 400, "validation_error"),
    ("activity-agent-huge", "manager", "get", "/api/crm/activity?agent=" + "9" * 30, {}, 400, "validation_error"),
    ("task-complete-null-null", "agent", "post", "/api/crm/tasks/null%2Cnull/complete", {}, 404, "not_found"),
    ("task-complete-superscript", "agent", "post", "/api/crm/tasks/%C2%B2/complete", {}, 404, "not_found"),
    ("task-complete-huge-id", "agent", "post", "/api/crm/tasks/" + "9" * 25 + "/complete", {}, 404, "not_found"),
    ("customer-detail-huge-id", "admin", "get", "/api/crm/customers/" + "9" * 25, {}, 404, "not_found"),
    ("bulk-assign-1200-form-fields", "manager", "post", "/api/crm/customers/bulk-assign", _form(TOO_MANY_FIELDS),
     400, "validation_error"),
    ("bulk-assign-deep-json", "manager", "post", "/api/crm/customers/bulk-assign", _json(DEEP), 400,
     "invalid_json"),
    ("notes-deep-json-object", "admin", "post", "/api/crm/customers/{customer}/notes", _json(DEEP_OBJECT), 400,
     "invalid_json"),
    ("register-deep-json", None, "post", "/api/customer/register", _json(DEEP), 400, "invalid_json"),
    ("token-deep-json", None, "post", "/api/auth/token", _json(DEEP), 400, "invalid_json"),
    ("token-json-65-deep", None, "post", "/api/auth/token", _json(b'{"email": ' + b"[" * 65 + b"]" * 65 + b"}"),
     400, "invalid_json"),
    ("token-unpaired-surrogate", None, "post", "/api/auth/token", _json(b'{"email": "\\ud800", "password": "x"}'),
     400, "invalid_json"),
    ("bridgerpay-deep-json", None, "post", "/api/payments/webhooks/bridgerpay", _json(DEEP), 400, "invalid_json"),
    ("praxis-deep-json", None, "post", "/api/payments/webhooks/praxis", _json(DEEP), 400, "invalid_json"),
    ("workflow-no-params", "admin", "post", "/api/platform/workflows",
     _json({"name": "w", "trigger": "customer.registered", "actions": [{"kind": "send_email", "position": 1}]}),
     400, "validation_error"),
    ("workflow-patch-no-position", "admin", "patch", "/api/platform/workflows/{workflow}",
     _json({"actions": [{"kind": "assign", "params": {}}]}), 400, "validation_error"),
    ("workflow-patch-no-params", "admin", "patch", "/api/platform/workflows/{workflow}",
     _json({"actions": [{"kind": "send_sms", "position": 1}]}), 400, "validation_error"),
    ("workflow-patch-form-encoded", "admin", "patch", "/api/platform/workflows/{workflow}",
     _form([("name", "renamed"), ("conditions", "not json"), ("actions", "x")]), 400, "validation_error"),
    ("promo-code-form-nul-group", "admin", "post", "/api/platform/promo-codes",
     _form([("code", "X1"), ("group", "\x00"), ("is_active", "false")]), 400, "validation_error"),
    ("affiliate-form-created-at", "admin", "post", "/api/platform/affiliates",
     _form([("code", "aff_y"), ("name", "Y"), ("created_at", "5218-01-06T02:52:54+07:16")]), 201, None),
    ("transaction-amount-superscript-login", "admin", "post", "/api/backoffice/transactions",
     _json({"account_login": "²", "type": "deposit", "amount": "5", "currency": "USD"}), 400, "validation_error"),
]

# Malformed → 400 validation_error; well-formed but not one of our orders → 401 (its payload cannot match).
BRIDGERPAY_CASES = [
    ("missing-charge", lambda n: n["data"].pop("charge"), 400),
    ("charge-not-an-object", lambda n: n["data"].__setitem__("charge", "x"), 400),
    ("amount-abc", lambda n: n["data"]["charge"]["attributes"].__setitem__("amount", "abc"), 400),
    ("amount-exponent", lambda n: n["data"]["charge"]["attributes"].__setitem__("amount", "1e3"), 400),
    ("amount-nan", lambda n: n["data"]["charge"]["attributes"].__setitem__("amount", "NaN"), 400),
    ("order-id-121-chars", lambda n: n["data"].__setitem__("order_id", "D" + "1" * 120), 400),
    ("order-id-list", lambda n: n["data"].__setitem__("order_id", ["D1"]), 400),
    ("data-not-an-object", lambda n: n.__setitem__("data", [1]), 400),
    ("order-id-superscript", lambda n: n["data"].__setitem__("order_id", "D²"), 401),
    ("order-id-a-number", lambda n: n["data"].__setitem__("order_id", 17), 401),
]


@pytest.fixture(autouse=True)
def providers(monkeypatch):
    """All three payment providers configured (their webhooks parse before anything is looked up)."""
    from ledger import conf

    for key, value in {"BRIDGERPAY_API_URL": "http://127.0.0.1:9", "PRAXIS_API_URL": "http://127.0.0.1:9",
                       "PRAXIS_SECRET": "s", "PRAXIS_MERCHANT_ID": "m", "PRAXIS_APPLICATION_KEY": "a",
                       "SANDBOX_PAYMENTS_ENABLED": True}.items():
        monkeypatch.setattr(conf, key, value)


@pytest.fixture
def workflow(demo):
    from comms.models import Workflow

    return Workflow.objects.create(name="bad-input", trigger="customer.registered")


@pytest.mark.parametrize("persona,method,path,kwargs,status,code",
                         [case[1:] for case in API_CASES], ids=[case[0] for case in API_CASES])
def test_api_bad_input_is_a_4xx_with_its_code(demo, workflow, persona, method, path, kwargs, status, code):
    from customers.models import Customer

    client = api_as(demo, persona)
    response = getattr(client, method)(path.format(workflow=workflow.pk, customer=Customer.objects.first().pk),
                                       **kwargs)
    assert response.status_code == status, response.content[:300]
    if code:
        assert response.json()["code"] == code


@pytest.mark.parametrize("search", ["²", "١٢", " 7 ", "9" * 40, "a\u0000b"])
def test_customer_search_takes_any_text(demo, search):
    """A search term is free text: digits that are not ASCII, or ids beyond bigint, simply match nothing by id."""
    response = api_as(demo, "admin").get("/api/crm/customers", {"search": search})
    assert response.status_code in (200, 400), response.content[:300]
    if "\u0000" in search:
        assert response.json()["code"] == "validation_error"
    page = page_as(demo, "admin").get("/customers/", {"search": search})
    assert page.status_code in (200, 400)


PAGE_CASES = [
    ("activity-page-agent-superscript", "manager", "get", "/activity/?agent=%C2%B2", {}, 400),
    ("activity-page-team-superscript", "manager", "get", "/activity/?team=%C2%B2", {}, 400),
    ("notifications-read-superscript", "agent", "post", "/notifications/read", _form([("id", "²")]), 400),
    ("template-locale-nul", "admin", "get", "/templates/email/1/%00/", {}, 400),
    ("bulk-assign-page-1200-fields", "manager", "post", "/customers/bulk-assign", _form(TOO_MANY_FIELDS), 400),
    ("sandbox-cashier-superscript", "admin", "get", "/payments/sandbox/D%C2%B2", {}, 404),
    ("customer-action-superscript-note", "admin", "post", "/customers/{customer}/note-edit",
     _form([("note_id", "²"), ("body", "x")]), 302),
]


@pytest.mark.parametrize("persona,method,path,kwargs,status",
                         [case[1:] for case in PAGE_CASES], ids=[case[0] for case in PAGE_CASES])
def test_page_bad_input_is_a_4xx(demo, persona, method, path, kwargs, status):
    from customers.models import Customer

    client = page_as(demo, persona)
    response = getattr(client, method)(path.format(customer=Customer.objects.first().pk), **kwargs)
    assert response.status_code == status, response.content[:300]
    if status == 400:
        assert b"Bad request" in response.content


@pytest.mark.parametrize("body", [DEEP, b'{"event_id": "e", "order_id": "D1", "status": "approved", "amount": "1e3"}',
                                  b'{"event_id": "e", "order_id": "' + b"D" * 121 + b'", "status": "approved"}'],
                         ids=["deep", "amount-exponent", "order-id-121"])
def test_sandbox_signed_but_malformed_notification_is_400(demo, body):
    """Signature first (unsigned → 401), then the same strict reading as the other providers."""
    from ledger import conf
    from ledger.providers.sandbox import sign

    response = APIClient().post("/api/payments/webhooks/sandbox", body, content_type="application/json",
                                HTTP_X_SANDBOX_SIGNATURE=sign(body, conf.SANDBOX_SECRET))
    assert response.status_code == 400, response.content
    assert response.json()["code"] in ("invalid_json", "validation_error")


def test_suspicious_operation_stays_400(demo):
    """Django's SuspiciousOperation (here DisallowedHost) is a 400 with the API body, never a 500."""
    response = APIClient().get("/api/health", HTTP_HOST="evil.example")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    page = Client().get("/login/", HTTP_HOST="evil.example")
    assert page.status_code == 400


def test_affiliate_create_with_is_active(demo):
    response = api_as(demo, "admin").post("/api/platform/affiliates",
                                          {"code": "aff_x", "name": "X", "is_active": False}, format="json")
    assert response.status_code == 201, response.content
    assert response.json()["is_active"] is False and response.json()["api_key"]


@pytest.mark.parametrize("mutate,status", [case[1:] for case in BRIDGERPAY_CASES],
                         ids=[case[0] for case in BRIDGERPAY_CASES])
def test_bridgerpay_malformed_notification_is_a_4xx(demo, mutate, status):
    note = {"webhook": {"type": "approved"},
            "data": {"order_id": "D1", "payload": "x",
                     "charge": {"id": "ch_1", "type": "approved",
                                "attributes": {"status": "approved", "amount": 10.0, "currency": "USD"}}}}
    mutate(note)
    response = APIClient().post("/api/payments/webhooks/bridgerpay", json.dumps(note),
                                content_type="application/json")
    assert response.status_code == status, response.content
    assert response.json()["code"] == ("validation_error" if status == 400 else "invalid_signature")
