"""FX rates from the ECB's daily reference rates, their freshness, and 409 fx_rate_unavailable (issue #13).

The ECB is played by a local HTTP server serving a copy of the real file's format (tests/data/eurofxref-daily.xml);
no test touches the network."""

from __future__ import annotations

import io
import threading
from datetime import date, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ledger import conf
from ledger.fx import FxSourceError, fx_rates_update_task, parse_ecb
from ledger.models import FxRate, Transaction
from ledger.tests.factories import demo_rates
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff and FX rates (EUR, GBP); `funded` builds the agent's customer."""
    staff = demo_staff()
    demo_rates()
    return staff
FIXTURE = (Path(__file__).parent / "data" / "eurofxref-daily.xml").read_bytes()


class FakeEcb:
    """Serves `body` with `status` at /stats/eurofxref/eurofxref-daily.xml; counts requests."""

    def __init__(self):
        self.body, self.status, self.hits = FIXTURE, 200, 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                fake.hits += 1
                self.send_response(fake.status)
                self.send_header("Content-Type", "text/xml")
                self.send_header("Content-Length", str(len(fake.body)))
                self.end_headers()
                self.wfile.write(fake.body)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/stats/eurofxref/eurofxref-daily.xml"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def ecb(monkeypatch):
    fake = FakeEcb()
    monkeypatch.setattr(conf, "ECB_RATES_URL", fake.url)
    yield fake
    fake.close()


def test_parse_the_real_file_format():
    rates = parse_ecb(FIXTURE)
    assert rates.as_of == date(2024, 6, 28)
    assert len(rates.per_eur) == 30 and rates.per_eur["GBP"] == Decimal("0.84638")
    usd = rates.usd_rates()
    # Our table is USD per unit: EUR is the ECB's USD rate; GBP = USD per EUR / GBP per EUR.
    assert usd["EUR"] == Decimal("1.0705") and usd["USD"] == 1
    assert usd["GBP"] == (Decimal("1.0705") / Decimal("0.84638")).quantize(Decimal("0.00000001"))
    assert usd["JPY"] == Decimal("0.00622601")


@pytest.mark.parametrize("document", [
    b"not xml",
    b"<?xml version='1.0'?><rss/>",
    b"<?xml version='1.0'?><!DOCTYPE lol [<!ENTITY a 'aaaa'>]><gesmes:Envelope "
    b"xmlns:gesmes='http://www.gesmes.org/xml/2002-08-01'>&a;</gesmes:Envelope>",
    FIXTURE.replace(b"time='2024-06-28'", b"time='yesterday'"),
    FIXTURE.replace(b"currency='USD'", b"currency='XXX'"),
])
def test_malformed_or_hostile_documents_are_refused(document):
    with pytest.raises(FxSourceError):
        parse_ecb(document).usd_rates()


def test_update_fx_rates_command_reads_the_ecb_and_shows_the_update(ecb, client_for):
    call_command("update_fx_rates", stdout=io.StringIO())
    assert ecb.hits == 1
    eur = FxRate.objects.get(currency="EUR")
    assert eur.usd_rate == Decimal("1.0705") and eur.source == "ecb" and eur.as_of == date(2024, 6, 28)
    assert timezone.now() - eur.updated_at < timedelta(minutes=1)
    assert FxRate.objects.count() == 31  # 30 listed + EUR
    rates = {r["currency"]: r for r in client_for("compliance").get("/api/platform/fx-rates").json()}
    assert rates["GBP"]["usd_rate"] == "1.26479832" and rates["GBP"]["as_of"] == "2024-06-28"
    assert rates["GBP"]["updated_at"] and rates["GBP"]["stale"] is False and rates["GBP"]["source"] == "ecb"
    # The workspace shows the rates and the last update where USD amounts are decided.
    from django.test import Client

    page = Client()
    page.force_login(_user("compliance"))
    html = page.get("/approvals/").content.decode()
    assert 'data-testid="fx-rates"' in html and "1.26479832" in html and "2024-06-28" in html
    assert 'data-testid="fx-last-update">never' not in html


def _user(name):
    from teams.models import User

    return User.objects.get(email=f"{name}@demo.test")


def test_a_failing_source_changes_nothing(ecb, demo):
    before = dict(FxRate.objects.values_list("currency", "updated_at"))
    ecb.status = 503
    with pytest.raises(CommandError):
        call_command("update_fx_rates", stdout=io.StringIO())
    ecb.status, ecb.body = 200, FIXTURE.replace(b"gesmes:Envelope", b"gesmes:Other")
    with pytest.raises(CommandError):
        call_command("update_fx_rates", stdout=io.StringIO())
    assert dict(FxRate.objects.values_list("currency", "updated_at")) == before


def test_the_beat_task_is_scheduled_and_updates(ecb):
    from brokercrm.celery import app

    entry = app.conf.beat_schedule["ledger.fx_rates_update"]
    assert entry["task"] == "ledger.fx_rates_update"
    assert entry["schedule"].day_of_week == {1, 2, 3, 4, 5}
    assert fx_rates_update_task.apply().get() == 31
    assert FxRate.objects.get(currency="CHF").source == "ecb"


def test_the_beat_task_is_off_without_a_url(monkeypatch):
    monkeypatch.setattr(conf, "ECB_RATES_URL", "")
    assert fx_rates_update_task.apply().get() == 0


# --- 409 fx_rate_unavailable -------------------------------------------------------------------------------------


def _eur_account(funded):
    funded.currency = "EUR"
    funded.save()
    return funded


def test_a_stale_rate_is_refused_naming_the_currency(client_for, funded, monkeypatch):
    account = _eur_account(funded)
    monkeypatch.setattr(conf, "FX_RATE_MAX_AGE_HOURS", 96)
    FxRate.objects.filter(currency="EUR").update(updated_at=timezone.now() - timedelta(hours=97))
    body = {"account_login": account.login, "type": "deposit", "amount": "100.00", "currency": "EUR"}
    response = client_for("admin").post("/api/backoffice/transactions", body, format="json")
    assert response.status_code == 409, response.content
    error = response.json()
    assert error["code"] == "fx_rate_unavailable" and "EUR" in error["detail"] and "currency" in error["fields"]
    assert not Transaction.objects.filter(account=account, currency="EUR").exists()
    rates = {r["currency"]: r for r in client_for("admin").get("/api/platform/fx-rates").json()}
    assert rates["EUR"]["stale"] is True and rates["USD"]["stale"] is False
    # Within the configured age it passes; so does a refreshed rate.
    monkeypatch.setattr(conf, "FX_RATE_MAX_AGE_HOURS", 120)
    assert client_for("admin").post("/api/backoffice/transactions", body, format="json").status_code == 201


def test_a_missing_rate_is_refused_for_customers_too(funded, monkeypatch):
    from rest_framework.test import APIClient

    account = _eur_account(funded)
    FxRate.objects.filter(currency="EUR").delete()
    client = APIClient()
    session = client.session
    session["customer_id"] = account.customer_id
    session.save()
    response = client.post("/api/customer/withdrawals", {"amount": "10.00", "currency": "EUR"}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "fx_rate_unavailable"
    assert "EUR" in response.json()["detail"]


def test_usd_needs_no_rate(client_for, funded):
    FxRate.objects.all().delete()
    body = {"account_login": funded.login, "type": "deposit", "amount": "5.00", "currency": "USD"}
    assert client_for("admin").post("/api/backoffice/transactions", body, format="json").status_code == 201
