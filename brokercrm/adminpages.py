"""What the administration pages of every app share: errors in words next to their fields, feedback, one layout.

A page validates with the same serializer and calls the same service as its platform API endpoint; this module
only turns the outcome into a page (field errors, a message, a redirect)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import render
from rest_framework.exceptions import ValidationError

# What the administration index lists, and who sees each entry: (label, url name, permission, description).
# Every app mounts its own pages; this table only names them (url names are strings: no import of higher apps).
SECTIONS = [
    ("Teams", "admin-teams", "administration.view_teams", "The team tree: create, rename, move."),
    ("Users", "admin-users", "administration.view_teams", "Staff users: create, role and team, deactivate, "
                                                          "reset password."),
    ("Roles", "admin-roles", "administration.manage_roles", "Permissions by category, scopes, PII, export, "
                                                            "approval level."),
    ("Audit log", "admin-audit", "administration.view_audit_log", "Every administrative change, filtered."),
    ("Promo codes", "admin-promo-codes", "platform.manage_promo_codes", "Codes that put customers in a group."),
    ("Fraud settings", "admin-fraud", "platform.manage_fraud_rules", "Registration paths, gates, duplicate scoring, "
                                                                     "disposable domains."),
    ("Payment routes", "admin-payment-routes", "finance.manage_payment_routes", "Which provider takes a deposit."),
    ("FX rates", "admin-fx-rates", "finance.manage_payment_routes", "USD value of each currency."),
    ("Approval rules", "admin-approval-rules", "finance.manage_payment_routes", "Amount tiers and the approver "
                                                                                "level each needs."),
]
ADMIN_PERMISSIONS = tuple(dict.fromkeys(code for _l, _u, code, _d in SECTIONS))


def holds_any(user, codes) -> bool:
    return bool(user and user.is_authenticated and hasattr(user, "holds") and any(user.holds(c) for c in codes))


def _flatten(value) -> list[str]:
    if isinstance(value, dict):
        out = []
        for key, inner in value.items():
            out += [f"{key}: {m}" for m in _flatten(inner)]
        return out
    if isinstance(value, list | tuple):
        return [m for item in value for m in _flatten(item)]
    return [str(value)]


def field_errors(error) -> dict[str, list[str]]:
    """{field: [message, ...]} from a DRF ValidationError or a domain error; "form" holds the rest."""
    if isinstance(error, ValidationError):
        detail = error.detail
        if isinstance(detail, dict):
            return {("form" if k == "non_field_errors" else k): _flatten(v) for k, v in detail.items()}
        return {"form": _flatten(detail)}
    fields = getattr(error, "fields", None) or {}
    out = {k: [str(m) for m in v] for k, v in fields.items()}
    detail = getattr(error, "detail", None) or str(error)
    if not out or getattr(error, "code", "validation_error") != "validation_error":
        out.setdefault("form", []).insert(0, str(detail))
    return out


def refused(request, template: str, context: dict, error, *, status: int = 400):
    """Re-render the form with the error in words next to each field (and at the top), status 400/403/409."""
    errors = field_errors(error)
    messages.error(request, "Nothing was saved: see what is marked below.")
    return render(request, template, {**context, "errors": errors}, status=status)



