"""Bad files get clear errors before any job exists; good encodings are read."""

from __future__ import annotations

import io

import pytest

from imports import conf
from imports.models import ImportJob
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff (admin uploads, an agent may not): teams.tests.factories.demo_staff."""
    return demo_staff()


HEADER = "email,phone,first_name,last_name,country\n"
ROW = "a@example.org,+447911123456,A,B,GB\n"


def upload(client, content: bytes, **extra):
    return client.post("/api/backoffice/customers/import", {"file": io.BytesIO(content), **extra}, format="multipart")


@pytest.mark.parametrize(
    "content,status,code",
    [
        (b"", 400, "empty_file"),
        (HEADER.encode(), 400, "no_rows"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00binary", 400, "invalid_file"),
        (b"email,first_name\nx@y.z,A\n", 400, "missing_columns"),
    ],
)
def test_bad_files(client_for, demo, content, status, code, django_capture_on_commit_callbacks):
    response = upload(client_for("admin"), content)
    assert response.status_code == status and response.json()["code"] == code, response.content
    assert not ImportJob.objects.exists()


def test_too_many_rows_and_too_large(client_for, demo, monkeypatch):
    monkeypatch.setattr(conf, "IMPORT_MAX_ROWS", 3)
    response = upload(client_for("admin"), (HEADER + ROW * 4).encode())
    assert response.status_code == 413 and "3" in response.json()["detail"]
    monkeypatch.setattr(conf, "IMPORT_MAX_BYTES", 100)
    response = upload(client_for("admin"), (HEADER + ROW * 3).encode())
    assert response.status_code == 413 and "100-byte" in response.json()["detail"]
    assert not ImportJob.objects.exists()


@pytest.mark.parametrize(
    "content,note",
    [
        ("\ufeff" + HEADER + ROW, None),  # UTF-8 with BOM
        ((HEADER + ROW).replace("\n", "\r\n"), None),  # CRLF
        ("EMAIL;Phone;FIRST_NAME;last_name;Country\r\na@example.org;+447911123456;\"Ann\r\nMarie\";B;GB\r\n", None),
    ],
)
def test_encodings_line_endings_and_header_case(client_for, demo, content, note, django_capture_on_commit_callbacks):
    response = upload(client_for("admin"), content.encode("utf-8"))
    assert response.status_code == 202, response.content
    job = ImportJob.objects.get()
    assert job.total_rows == 1 and job.rows.get().data["email"] == "a@example.org"


def test_windows_1252_is_detected(client_for, demo, django_capture_on_commit_callbacks):
    content = (HEADER + "z@example.org,+447911123456,Zoë,Müller,DE\n").encode("cp1252")
    response = upload(client_for("admin"), content)
    assert response.status_code == 202
    assert any("Windows-1252" in m for m in response.json()["messages"])
    assert ImportJob.objects.get().rows.get().data["first_name"] == "Zoë"


def test_permission_and_rate_validation(client_for, demo):
    assert upload(client_for("agent"), (HEADER + ROW).encode()).status_code == 403
    response = upload(client_for("admin"), (HEADER + ROW).encode(), rate_per_second=-1)
    assert response.status_code == 400
