"""Shared pieces of the KYC tests (issue #17): sample files by their real first bytes, a customer session."""

from __future__ import annotations

from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

PAD = b"\x00" * 200
SAMPLES = {
    "application/pdf": ("passport.pdf", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n" + PAD),
    "image/jpeg": ("passport.jpg", b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01" + PAD),
    "image/png": ("bill.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + PAD),
    "image/heic": ("selfie.heic", b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + PAD),
}
EXECUTABLE = ("passport.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" + PAD)


def sample(content_type: str = "application/pdf", name: str | None = None) -> SimpleUploadedFile:
    default_name, data = SAMPLES[content_type]
    # The browser's claim is deliberately wrong: only the bytes count.
    return SimpleUploadedFile(name or default_name, data, content_type="application/octet-stream")


def customer_client(customer) -> APIClient:
    client = APIClient()
    session = client.session
    session["customer_id"] = customer.pk
    session.save()
    return client
