"""KYC forms on the pages (issue #17): the client area's upload form and reasons, the workspace upload form, and
the review queue for a reviewer against a masked viewer."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from customers.kyc.models import KycDocument
from teams.tests.factories import demo_staff

from .kyc_support import EXECUTABLE, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff (teams.tests.factories.demo_staff); `kyc_customer` builds the agent's customer."""
    return demo_staff()


@pytest.fixture
def client_session(client, kyc_customer):
    session = client.session
    session["customer_id"] = kyc_customer.pk
    session.save()
    return client


def test_client_area_upload_form(client_session, kyc_customer, kyc_storage):
    page = client_session.get("/client/").content.decode()
    assert 'data-testid="client-kyc-upload"' in page and "Missing: identity document." in page
    r = client_session.post("/client/documents/upload", {"kind": "identity", "file": sample("image/heic")})
    assert r.status_code == 302
    assert KycDocument.objects.get(customer=kyc_customer).content_type == "image/heic"
    r = client_session.post("/client/documents/upload", {"kind": "identity",
                                                         "file": SimpleUploadedFile(*EXECUTABLE)})
    assert r.status_code == 400
    assert "executable" in r.content.decode()
    assert KycDocument.objects.filter(customer=kyc_customer).count() == 1


def test_client_upload_needs_a_session(client, kyc_storage):
    r = client.post("/client/documents/upload", {"kind": "identity", "file": sample()})
    assert r.status_code == 302 and r["Location"].endswith("/client/login/")
    assert not KycDocument.objects.exists()


def test_workspace_upload_form_and_refusal(client, demo, kyc_customer, kyc_storage):
    client.force_login(demo["agent"])
    r = client.post(f"/kyc/customers/{kyc_customer.pk}/upload", {"kind": "proof_of_address",
                                                                 "file": SimpleUploadedFile(*EXECUTABLE)},
                    follow=True)
    assert "executable" in r.content.decode()
    r = client.post(f"/kyc/customers/{kyc_customer.pk}/upload", {"kind": "proof_of_address", "file": sample()},
                    follow=True)
    assert "Document uploaded for review." in r.content.decode()
    client.force_login(demo["agent4"])  # another team's agent
    assert client.post(f"/kyc/customers/{kyc_customer.pk}/upload", {"kind": "identity",
                                                                    "file": sample()}).status_code == 404
    assert KycDocument.objects.count() == 1


def test_queue_for_a_reviewer_and_for_a_masked_viewer(client, demo, kyc_customer, kyc_storage):
    client.force_login(demo["agent"])
    client.post(f"/kyc/customers/{kyc_customer.pk}/upload", {"kind": "identity", "file": sample()})
    doc = KycDocument.objects.get()
    client.force_login(demo["compliance"])
    page = client.get("/kyc/").content.decode()
    assert f'data-document-id="{doc.pk}"' in page and "KYC review" in page
    r = client.post(f"/kyc/documents/{doc.pk}/reject", {"reason": "Photo is blurred"}, follow=True)
    assert f"Document #{doc.pk} rejected." in r.content.decode()
    doc.refresh_from_db()
    assert doc.status == "rejected" and doc.reason == "Photo is blurred"
    client.force_login(demo["manager"])  # holds the KYC permission, but sees PII masked
    page = client.get("/kyc/").content.decode()
    assert 'data-testid="kyc-queue-hidden"' in page and "data-document-id" not in page
    assert client.post(f"/kyc/documents/{doc.pk}/approve").status_code == 404
    assert client.get(f"/kyc/documents/{doc.pk}/file").status_code == 404
    client.force_login(demo["compliance"])
    r = client.get(f"/kyc/documents/{doc.pk}/file")
    assert r.status_code == 302 and "/download?token=" in r["Location"]
