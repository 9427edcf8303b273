"""KYC documents on S3-compatible storage (issue #17): django-storages' S3Storage against a local S3 server
(moto's ThreadedMotoServer on a free loopback port), through the same API as the file system default."""

from __future__ import annotations

import boto3
import pytest

from devtools.testing import free_port
from teams.tests.factories import demo_staff

from .kyc_support import SAMPLES, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff (teams.tests.factories.demo_staff); `kyc_customer` builds the agent's customer."""
    return demo_staff()


BUCKET = "kyc-test"  # moto's state lives in the process: each test resets the server first


@pytest.fixture
def s3_server():
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    import httpx

    httpx.post(f"http://127.0.0.1:{port}/moto-api/reset")
    yield f"http://127.0.0.1:{port}"
    server.stop()


@pytest.fixture
def s3_storage(settings, s3_server):
    credentials = {"aws_access_key_id": "test", "aws_secret_access_key": "test", "region_name": "us-east-1"}
    s3 = boto3.client("s3", endpoint_url=s3_server, **credentials)
    s3.create_bucket(Bucket=BUCKET)
    # The shape brokercrm.settings builds from KYC_S3_* variables.
    settings.STORAGES = {**settings.STORAGES, "kyc": {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
        "bucket_name": BUCKET, "endpoint_url": s3_server, "region_name": "us-east-1", "access_key": "test",
        "secret_key": "test", "location": "kyc", "default_acl": "private", "querystring_auth": True,
        "querystring_expire": 300, "file_overwrite": False}}}
    return s3


def test_upload_and_download_through_s3(client_for, kyc_customer, s3_storage):
    r = client_for("agent").post(f"/api/crm/customers/{kyc_customer.pk}/documents",
                                 {"file": sample("image/png"), "kind": "identity"}, format="multipart")
    assert r.status_code == 201, r.content
    from customers.kyc.models import KycDocument

    doc = KycDocument.objects.get(pk=r.json()["id"])
    keys = [o["Key"] for o in s3_storage.list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert keys == [f"kyc/{doc.file_name}"]
    stored = s3_storage.get_object(Bucket=BUCKET, Key=keys[0])["Body"].read()
    assert stored == SAMPLES["image/png"][1]
    # Private: the object has no public grant.
    grants = s3_storage.get_object_acl(Bucket=BUCKET, Key=keys[0])["Grants"]
    assert not any(g["Grantee"].get("URI", "").endswith("AllUsers") for g in grants)
    compliance = client_for("compliance")
    url = compliance.get(f"/api/crm/documents/{doc.pk}/file").json()["url"]
    response = compliance.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == SAMPLES["image/png"][1]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_a_refused_upload_leaves_nothing_in_the_bucket(client_for, kyc_customer, s3_storage):
    from django.core.files.uploadedfile import SimpleUploadedFile

    r = client_for("agent").post(f"/api/crm/customers/{kyc_customer.pk}/documents",
                                 {"file": SimpleUploadedFile("a.pdf", b"MZ" + b"\x00" * 100), "kind": "identity"},
                                 format="multipart")
    assert r.status_code == 400
    assert s3_storage.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0
