"""The permission catalog, scopes, PII levels and approval levels: defined once, used everywhere."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


@dataclass(frozen=True)
class PermissionDef:
    code: str
    category: str
    description: str


_CATALOG: dict[str, list[tuple[str, str]]] = {
    "customers": [
        ("view", "See customers within the role's view scope"),
        ("create", "Register customers from the back office"),
        ("edit", "Edit customer profiles within the role's edit scope"),
        ("assign", "Assign a customer to an agent"),
        ("bulk_assign", "Assign many customers round-robin"),
        ("import", "Upload CSV customer imports"),
    ],
    "pipelines": [
        ("change_sales_status", "Move customers through the sales pipeline"),
        ("change_kyc_status", "Move customers through the KYC pipeline"),
        ("change_finance_status", "Move customers through the finance pipeline, including unfreezing"),
        ("manage_tasks", "Create and complete tasks"),
        ("manage_notes", "Add and edit notes"),
    ],
    "finance": [
        ("view_transactions", "See transactions of visible customers"),
        ("create_deposit", "Create deposits"),
        ("create_withdrawal", "Create withdrawals"),
        ("create_adjustment", "Create credits, bonuses, corrections, fees, IB payments and chargebacks"),
        ("approve_transactions", "Approve or reject transactions up to the role's approval level"),
        ("manage_payment_routes", "Edit payment routing and approval rules"),
    ],
    "communications": [
        ("view_templates", "See email and SMS templates"),
        ("manage_templates", "Create and edit templates and translations"),
        ("send_email", "Send emails to customers"),
        ("send_sms", "Send SMS to customers"),
    ],
    "administration": [
        ("view_teams", "See teams and staff users"),
        ("manage_teams", "Create, rename and move teams"),
        ("manage_users", "Create and edit staff users"),
        ("manage_roles", "Create and edit roles"),
        ("view_audit_log", "Read the administrative audit log"),
    ],
    "reports": [
        ("export_customers", "Export customer lists as CSV (PII needs can_export_pii too)"),
        ("view_reports", "See reports"),
        ("view_dashboard", "See the dashboard"),
    ],
    "platform": [
        ("manage_promo_codes", "Create and edit promo codes and customer groups"),
        ("manage_fraud_rules", "Edit disposable-domain lists, duplicate scoring and registration gates"),
        ("manage_workflows", "Create and edit workflows"),
    ],
}

PERMISSIONS: tuple[PermissionDef, ...] = tuple(
    PermissionDef(code=f"{category}.{action}", category=category, description=description)
    for category, actions in _CATALOG.items()
    for action, description in actions
)
PERMISSION_CODES: frozenset[str] = frozenset(p.code for p in PERMISSIONS)
CATEGORIES: tuple[str, ...] = tuple(_CATALOG)


class ViewScope(models.TextChoices):
    OWN = "own"
    TEAM = "team"
    ALL = "all"


class EditScope(models.TextChoices):
    NONE = "none"
    OWN = "own"
    TEAM = "team"
    ALL = "all"


class PiiLevel(models.TextChoices):
    FULL = "full"
    MASKED = "masked"
    HIDDEN = "hidden"


class ApprovalLevel(models.TextChoices):
    NONE = "none"
    AGENT = "agent"
    MANAGER = "manager"
    COMPLIANCE = "compliance"


# Ranks let every "beyond their own" comparison be one integer comparison.
VIEW_SCOPE_RANK = {ViewScope.OWN: 1, ViewScope.TEAM: 2, ViewScope.ALL: 3}
EDIT_SCOPE_RANK = {EditScope.NONE: 0, EditScope.OWN: 1, EditScope.TEAM: 2, EditScope.ALL: 3}
PII_RANK = {PiiLevel.HIDDEN: 0, PiiLevel.MASKED: 1, PiiLevel.FULL: 2}
APPROVAL_RANK: dict[str, int] = {ApprovalLevel.NONE: 0, ApprovalLevel.AGENT: 1, ApprovalLevel.MANAGER: 2,
                                 ApprovalLevel.COMPLIANCE: 3}
