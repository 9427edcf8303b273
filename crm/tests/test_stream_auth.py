"""The live stream answers bad credentials as the rest of the API does: no credentials → 401 not_authenticated; a
token that is unknown, expired or revoked → 401 authentication_failed (it said not_authenticated before)."""

from __future__ import annotations

import pytest
from django.test import Client

from ledger.tests.factories import TradingAccountFactory
from teams.tests.factories import demo_staff
from teams.tokens import token_issue, token_revoke

pytestmark = pytest.mark.django_db


def test_stream_credentials_errors_use_the_api_codes():
    staff = demo_staff()
    login = TradingAccountFactory().login
    url = f"/api/crm/accounts/{login}/stream"
    response = Client().get(url)
    assert response.status_code == 401 and response.json()["code"] == "not_authenticated"
    response = Client(HTTP_AUTHORIZATION="Token " + "0" * 40).get(url)
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
    token, key = token_issue(user=staff["admin"], name="t")
    token_revoke(token=token, by=staff["admin"])
    response = Client(HTTP_AUTHORIZATION=f"Token {key}").get(url)
    assert response.status_code == 401 and response.json()["code"] == "authentication_failed"
