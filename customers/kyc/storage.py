"""Where document files live: Django's storage named "kyc" in STORAGES (private file system directory in the
embedded default, S3-compatible storage in production). Never MEDIA, never a public URL."""

from __future__ import annotations

from django.core.files.storage import storages


def kyc_storage():
    """Looked up on each use, so a changed STORAGES setting (tests) takes effect at once."""
    return storages["kyc"]
