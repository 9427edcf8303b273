"""The Sumsub adapter (issue #17) against a local fake that checks signatures; the webhook with a good and a
forged digest; results feed the review queue and approve only when the broker enables it."""

from __future__ import annotations

import pytest

from customers.kyc import conf
from customers.kyc.models import KycApplicant, KycDocument, KycSettings
from customers.kyc.sumsub import SumsubClient, SumsubUnavailable
from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

from .fake_sumsub import FakeSumsub
from .kyc_support import customer_client, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff (teams.tests.factories.demo_staff); `kyc_customer` builds the agent's customer."""
    return demo_staff()


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff and a customer of the agent, committed so that the live server process sees them."""
    staff = demo_staff()
    customer_with_account("GB", assigned_to=staff["agent"])
    return staff


@pytest.fixture
def sumsub(monkeypatch):
    fake = FakeSumsub()
    url = fake.start()
    monkeypatch.setattr(conf, "SUMSUB_API_URL", url)
    monkeypatch.setattr(conf, "SUMSUB_APP_TOKEN", fake.app_token)
    monkeypatch.setattr(conf, "SUMSUB_SECRET_KEY", fake.secret_key)
    monkeypatch.setattr(conf, "SUMSUB_WEBHOOK_SECRET", fake.webhook_secret)
    yield fake
    fake.stop()


def test_signed_requests_are_accepted_and_a_wrong_secret_is_refused(sumsub):
    good = SumsubClient(base_url=conf.SUMSUB_API_URL, app_token=sumsub.app_token, secret_key=sumsub.secret_key)
    assert good.applicant_create(external_user_id="customer-1", level_name="basic-kyc-level")["id"]
    bad = SumsubClient(base_url=conf.SUMSUB_API_URL, app_token=sumsub.app_token, secret_key="wrong")
    with pytest.raises(SumsubUnavailable):
        bad.applicant_create(external_user_id="customer-1", level_name="basic-kyc-level")
    assert sumsub.calls[-1][2] == 401


@pytest.fixture
def with_pending(kyc_customer, kyc_storage):
    me = customer_client(kyc_customer)
    for kind in ("identity", "proof_of_address"):
        r = me.post("/api/customer/documents", {"file": sample(), "kind": kind}, format="multipart")
        assert r.status_code == 201
    return me


def test_sdk_token_creates_the_applicant_once(sumsub, kyc_customer, with_pending):
    r = with_pending.post("/api/customer/kyc/sumsub-token")
    assert r.status_code == 200 and r.json()["token"].startswith("_act-") and r.json()["user_id"] == (
        f"customer-{kyc_customer.pk}")
    with_pending.post("/api/customer/kyc/sumsub-token")
    assert KycApplicant.objects.filter(customer=kyc_customer).count() == 1
    assert [c[1] for c in sumsub.calls].count("/resources/applicants") == 1


def test_sdk_token_without_configuration_is_503(kyc_customer, monkeypatch):
    monkeypatch.setattr(conf, "SUMSUB_API_URL", "")
    r = customer_client(kyc_customer).post("/api/customer/kyc/sumsub-token")
    assert r.status_code == 503 and r.json()["code"] == "provider_unavailable"


@pytest.mark.parametrize("alg", ["HMAC_SHA256_HEX", "HMAC_SHA512_HEX", "HMAC_SHA1_HEX"])
def test_webhook_with_a_good_digest_feeds_the_review_queue(sumsub, kyc_customer, with_pending, client, alg):
    with_pending.post("/api/customer/kyc/sumsub-token")
    applicant = KycApplicant.objects.get(customer=kyc_customer)
    r = sumsub.webhook("/api/kyc/webhooks/sumsub", applicant_id=applicant.applicant_id, answer="GREEN", alg=alg,
                       client=client)
    assert r.status_code == 200 and r.json()["status"] == "applied"
    docs = KycDocument.objects.filter(customer=kyc_customer)
    assert {d.provider_result for d in docs} == {"GREEN"}
    assert {d.status for d in docs} == {"pending"}  # never approved on its own by default
    kyc_customer.refresh_from_db()
    assert kyc_customer.kyc_status == "pending"


def test_webhook_with_a_forged_digest_is_refused(sumsub, kyc_customer, with_pending, client):
    with_pending.post("/api/customer/kyc/sumsub-token")
    applicant = KycApplicant.objects.get(customer=kyc_customer)
    r = sumsub.webhook("/api/kyc/webhooks/sumsub", applicant_id=applicant.applicant_id, forge=True, client=client)
    assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    assert not KycDocument.objects.filter(customer=kyc_customer).exclude(provider_result="").exists()
    r = client.post("/api/kyc/webhooks/sumsub", data=b"{}", content_type="application/json")
    assert r.status_code == 401


def test_auto_approve_when_the_broker_enables_it(sumsub, kyc_customer, with_pending, client):
    settings = KycSettings.current()
    settings.provider_auto_approve = True
    settings.save()
    with_pending.post("/api/customer/kyc/sumsub-token")
    applicant = KycApplicant.objects.get(customer=kyc_customer)
    sumsub.webhook("/api/kyc/webhooks/sumsub", applicant_id=applicant.applicant_id, answer="RED",
                   labels=["BAD_PROOF_OF_ADDRESS"], client=client)
    assert set(KycDocument.objects.filter(customer=kyc_customer).values_list("status", flat=True)) == {"pending"}
    sumsub.webhook("/api/kyc/webhooks/sumsub", applicant_id=applicant.applicant_id, answer="GREEN", client=client)
    assert set(KycDocument.objects.filter(customer=kyc_customer).values_list("status", flat=True)) == {"approved"}
    kyc_customer.refresh_from_db()
    assert kyc_customer.kyc_status == "approved"


@pytest.fixture
def webhook_secret_env(monkeypatch, sumsub):
    """The live server process reads SUMSUB_WEBHOOK_SECRET from its environment (set before it starts)."""
    monkeypatch.setenv("SUMSUB_WEBHOOK_SECRET", sumsub.webhook_secret)


@pytest.mark.django_db(transaction=True)
def test_webhook_over_real_http(sumsub, webhook_secret_env, demo_committed, live_url, kyc_storage):
    """End to end: the fake posts to the live ASGI server, like Sumsub's webhook sender."""
    from customers.kyc.services import document_upload
    from customers.models import Customer

    customer = Customer.objects.filter(assigned_to=demo_committed["agent"]).order_by("pk").first()
    doc = document_upload(customer=customer, file=sample("image/jpeg"), kind="identity", by_customer=True)
    applicant = KycApplicant.objects.create(customer=customer, applicant_id="feedc0de" * 3, level_name="basic")
    sumsub.applicants[applicant.applicant_id] = {"externalUserId": f"customer-{customer.pk}", "levelName": "basic"}
    url = f"{live_url}/api/kyc/webhooks/sumsub"
    assert sumsub.webhook(url, applicant_id=applicant.applicant_id, forge=True).status_code == 401
    doc.refresh_from_db()
    assert doc.provider_result == ""
    r = sumsub.webhook(url, applicant_id=applicant.applicant_id, answer="RED", labels=["FORGERY"])
    assert r.status_code == 200, r.text
    doc.refresh_from_db()
    assert (doc.provider_result, doc.provider_labels, doc.status) == ("RED", ["FORGERY"], "pending")
