"""The one root of every domain error: `DomainError`. Its API.md `code` and HTTP `status` are declared on the class,
one subclass per code (never set on an instance); an instance carries a human `detail` and optional `fields`.

Services raise these; the one DRF exception handler (`brokercrm.api.errors`) and, outside DRF, the JSON error
middleware or the workspace's error page (`brokercrm.middleware`) render them as `{"code", "detail", "fields"?}`.
Every code is listed, with its status, in the error-code table of docs/API.md (brokercrm.tests.test_error_root
checks each subclass against it). Apps subclass the generic classes below, or their own family
(`LedgerError`, `CrmError`, …) for codes of their own."""

from __future__ import annotations

from typing import ClassVar


class DomainError(Exception):
    """Invalid input: 400 `validation_error` (subclasses declare other codes)."""

    code: ClassVar[str] = "validation_error"
    status: ClassVar[int] = 400

    def __init__(self, detail: str, *, fields: dict[str, list[str]] | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.fields = fields
        self.headers = dict(headers or {})  # e.g. Retry-After

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not isinstance(cls.__dict__.get("code", cls.code), str) or not isinstance(cls.status, int):
            raise TypeError(f"{cls.__name__}: a domain error declares `code` (str) and `status` (int)")


# --- the codes several apps raise -------------------------------------------------------------------------------


class NotAuthenticated(DomainError):
    """Missing or bad credentials."""

    code = "not_authenticated"
    status = 401


class AuthenticationFailed(DomainError):
    """Credentials were given but are not valid: an unknown, expired or revoked token (DRF's answer on the API)."""

    code = "authentication_failed"
    status = 401


class PermissionDenied(DomainError):
    """Authenticated, but the role lacks the permission (or the object is outside the edit scope)."""

    code = "permission_denied"
    status = 403


class NotFound(DomainError):
    """Unknown, or outside the caller's view scope: the same answer (API.md)."""

    code = "not_found"
    status = 404


class MethodNotAllowed(DomainError):
    code = "method_not_allowed"
    status = 405


class Conflict(DomainError):
    code = "conflict"
    status = 409


class InvalidTransition(DomainError):
    """A status change the state machine does not allow from the current state."""

    code = "invalid_transition"
    status = 409


class TooLarge(DomainError):
    code = "too_large"
    status = 413


class InvalidCursor(DomainError):
    """A pagination cursor we did not issue."""

    code = "invalid_cursor"


class InvalidSignature(DomainError):
    """A callback (payment provider, SMS/e-mail delivery) whose signature or caller is not recognised."""

    code = "invalid_signature"
    status = 401


class RateLimited(DomainError):
    """Too many requests; `headers` carries Retry-After."""

    code = "rate_limited"
    status = 429
