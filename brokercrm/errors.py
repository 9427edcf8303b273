"""The one shape of a domain error: an API.md `code`, a human `detail`, an HTTP `status`, optional `fields`.

Services raise subclasses of it; `brokercrm.api.errors` turns any of them into the error body."""

from __future__ import annotations


class DomainError(Exception):
    code = "validation_error"
    status = 400

    def __init__(self, detail: str, *, code: str | None = None, status: int | None = None,
                 fields: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.fields = fields
        if code:
            self.code = code
        if status:
            self.status = status
