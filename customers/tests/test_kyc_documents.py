"""KYC documents (issue #17): uploads by type, size limit, scope and PII on every door, signed file links."""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from customers.kyc import conf
from customers.kyc.models import KycDocument
from teams.models import AuditLog
from teams.tests.factories import demo_staff

from .kyc_support import EXECUTABLE, SAMPLES, customer_client, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff (teams.tests.factories.demo_staff); `kyc_customer` builds the agent's customer."""
    return demo_staff()


def upload(client, customer, content_type="application/pdf", kind="identity", **extra):
    return client.post(f"/api/crm/customers/{customer.pk}/documents",
                       {"file": sample(content_type), "kind": kind, **extra}, format="multipart")


@pytest.mark.parametrize("content_type", list(SAMPLES))
def test_agent_uploads_each_type_detected_by_content(client_for, kyc_customer, kyc_storage, content_type):
    r = upload(client_for("agent"), kyc_customer, content_type)
    assert r.status_code == 201, r.content
    assert r.json()["content_type"] == content_type
    doc = KycDocument.objects.get(pk=r.json()["id"])
    assert doc.status == "pending" and doc.uploaded_by.email == "agent@demo.test"
    assert (kyc_storage / doc.file_name).read_bytes() == SAMPLES[content_type][1]
    kyc_customer.refresh_from_db()
    assert kyc_customer.kyc_status == "pending"
    assert kyc_customer.activities.filter(verb="kyc.document.uploaded").exists()
    assert AuditLog.objects.filter(action="kyc.document.uploaded", object_id=str(doc.pk)).exists()


def test_a_renamed_executable_is_refused_with_a_clear_code(client_for, kyc_customer, kyc_storage):
    from django.core.files.uploadedfile import SimpleUploadedFile

    name, data = EXECUTABLE
    r = client_for("agent").post(f"/api/crm/customers/{kyc_customer.pk}/documents",
                                 {"file": SimpleUploadedFile(name, data, content_type="application/pdf"),
                                  "kind": "identity"}, format="multipart")
    assert r.status_code == 400
    assert r.json()["code"] == "unsupported_file_type"
    assert "executable" in r.json()["detail"]
    assert not KycDocument.objects.exists()
    assert not any(kyc_storage.rglob("*.*")) if kyc_storage.exists() else True


def test_a_text_file_is_refused(client_for, kyc_customer, kyc_storage):
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = client_for("agent").post(f"/api/crm/customers/{kyc_customer.pk}/documents",
                                 {"file": SimpleUploadedFile("id.png", b"hello, not an image" * 5),
                                  "kind": "identity"}, format="multipart")
    assert r.status_code == 400 and r.json()["code"] == "unsupported_file_type"


def test_size_limit_is_413(client_for, kyc_customer, kyc_storage, monkeypatch):
    monkeypatch.setattr(conf, "KYC_MAX_UPLOAD_BYTES", 100)
    r = upload(client_for("agent"), kyc_customer)
    assert r.status_code == 413 and r.json()["code"] == "too_large"
    assert not KycDocument.objects.exists()


def test_dates_are_checked(client_for, kyc_customer, kyc_storage):
    r = upload(client_for("agent"), kyc_customer, issued_on="2020-01-01", expires_on="2019-01-01")
    assert r.status_code == 400 and "expires_on" in r.json()["fields"]
    r = upload(client_for("agent"), kyc_customer, issued_on="2010-01-01", expires_on="2011-01-01")
    assert r.status_code == 400 and r.json()["code"] == "document_expired"


def test_unknown_kind_is_400(client_for, kyc_customer, kyc_storage):
    r = upload(client_for("agent"), kyc_customer, kind="passport-ish")
    assert r.status_code == 400 and r.json()["code"] == "validation_error"


@pytest.fixture
def document(client_for, kyc_customer, kyc_storage):
    r = upload(client_for("agent"), kyc_customer)
    assert r.status_code == 201
    return KycDocument.objects.get(pk=r.json()["id"])


# Every door: (persona, expected). The agent and the manager see the customer but their PII is masked/hidden:
# they never see a document; agent4 (LATAM) does not even see the customer.
DOORS = [("compliance", 200), ("admin", 200), ("agent", 404), ("manager", 404), ("agent4", 404)]


@pytest.mark.parametrize("persona,expected", DOORS)
def test_document_doors_scope_and_pii(client_for, document, kyc_customer, persona, expected):
    client = client_for(persona)
    listing = client.get(f"/api/crm/customers/{kyc_customer.pk}/documents")
    if persona == "agent4":
        assert listing.status_code == 404
    elif expected == 200:
        assert listing.status_code == 200 and [d["id"] for d in listing.json()["results"]] == [document.pk]
    else:
        assert listing.status_code == 403 and listing.json()["code"] == "permission_denied"
    link = client.get(f"/api/crm/documents/{document.pk}/file")
    assert link.status_code == expected
    assert client.post(f"/api/crm/documents/{document.pk}/reject", {"reason": "blurred"}).status_code in (
        expected, 200)
    if expected == 404:
        assert client.post(f"/api/crm/documents/{document.pk}/approve").status_code == 404
        assert client.get(f"/api/crm/documents/{document.pk}/download?token=x").status_code == 404
    # Never any file bytes in an answer to a masked or hidden viewer.
    assert b"%PDF" not in listing.content + link.content


def test_agent4_cannot_upload_for_another_teams_customer(client_for, kyc_customer, kyc_storage):
    assert upload(client_for("agent4"), kyc_customer).status_code == 404


def test_the_link_is_short_lived_and_scoped_to_user_and_document(client_for, document, demo):
    compliance = client_for("compliance")
    url = compliance.get(f"/api/crm/documents/{document.pk}/file").json()["url"]
    r = compliance.get(url)
    assert r.status_code == 200
    assert b"".join(r.streaming_content) == SAMPLES["application/pdf"][1]
    assert r["Content-Type"] == "application/pdf"
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r["Content-Disposition"].startswith("attachment;")
    assert "no-store" in r["Cache-Control"]
    assert AuditLog.objects.filter(action="kyc.document.downloaded", object_id=str(document.pk)).exists()
    # Another user with the same rights cannot use this user's link; nor can it open another document.
    assert client_for("admin").get(url).status_code == 404
    token = re.search(r"token=(.+)$", url).group(1)
    assert compliance.get(f"/api/crm/documents/{document.pk + 1000}/download?token={token}").status_code == 404
    # A masked viewer with the link in hand still gets nothing.
    assert client_for("manager").get(url).status_code == 404
    with override_settings():
        import customers.kyc.conf as kyc_conf

        old = kyc_conf.KYC_LINK_TTL_SECONDS
        kyc_conf.KYC_LINK_TTL_SECONDS = -1
        try:
            expired = compliance.get(url)
        finally:
            kyc_conf.KYC_LINK_TTL_SECONDS = old
    assert expired.status_code == 410 and expired.json()["code"] == "link_expired"


def test_customer_uploads_and_lists_own_documents(kyc_customer, kyc_storage):
    me = customer_client(kyc_customer)
    r = me.post("/api/customer/documents", {"file": sample("image/png"), "kind": "proof_of_address"},
                format="multipart")
    assert r.status_code == 201, r.content
    listing = me.get("/api/customer/documents").json()
    assert [d["kind"] for d in listing["results"]] == ["proof_of_address"]
    assert listing["kyc_status"] == "pending"
    assert any("identity" in line for line in listing["missing"])
    r = me.post("/api/customer/documents", {"file": SimpleUploaded(*EXECUTABLE), "kind": "identity"},
                format="multipart")
    assert r.status_code == 400 and r.json()["code"] == "unsupported_file_type"


def SimpleUploaded(name, data):  # noqa: N802 (reads like the class it wraps)
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def test_customer_endpoints_need_a_customer_session(client_for, api):
    assert client_for("agent").get("/api/customer/documents").status_code in (401, 403)
    assert api.get("/api/customer/documents").status_code in (401, 403)
