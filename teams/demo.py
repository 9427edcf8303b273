"""Demo teams, roles and staff (see API.md's demo table)."""

from __future__ import annotations

from brokercrm.actors import SYSTEM

from .constants import PERMISSION_CODES
from .models import Role, Team, User
from .services import team_create

DEMO_PASSWORD = "demo-password"

ALL = sorted(PERMISSION_CODES)
AGENT_PERMS = [
    "customers.view", "customers.edit", "pipelines.change_sales_status", "pipelines.manage_tasks",
    "pipelines.manage_notes", "finance.view_transactions", "finance.create_deposit", "finance.create_withdrawal",
    "finance.approve_transactions", "communications.view_templates", "communications.send_email",
    "communications.send_sms", "reports.view_dashboard",
]
MANAGER_PERMS = AGENT_PERMS + [
    "customers.create", "customers.assign", "customers.bulk_assign", "customers.import",
    "pipelines.change_kyc_status", "finance.create_adjustment", "administration.view_teams",
    "reports.view_reports", "reports.export_customers", "communications.manage_templates",
]
COMPLIANCE_PERMS = [
    "customers.view", "pipelines.change_kyc_status", "pipelines.change_finance_status", "pipelines.manage_notes",
    "pipelines.manage_tasks", "finance.view_transactions", "finance.approve_transactions",
    "finance.create_adjustment", "administration.view_audit_log", "administration.view_teams",
    "reports.view_dashboard", "reports.view_reports", "communications.view_templates",
]

ROLES = {
    "admin": dict(permissions=ALL, customer_view_scope="all", customer_edit_scope="all", pii_email="full",
                  pii_phone="full", can_export_pii=True, approval_level="compliance"),
    "compliance": dict(permissions=COMPLIANCE_PERMS, customer_view_scope="all", customer_edit_scope="none",
                       pii_email="full", pii_phone="full", can_export_pii=False, approval_level="compliance"),
    "manager": dict(permissions=sorted(set(MANAGER_PERMS)), customer_view_scope="team", customer_edit_scope="team",
                    pii_email="masked", pii_phone="masked", can_export_pii=False, approval_level="manager"),
    "agent": dict(permissions=AGENT_PERMS, customer_view_scope="own", customer_edit_scope="own",
                  pii_email="masked", pii_phone="hidden", can_export_pii=False, approval_level="agent"),
}


def _team(name: str, parent: Team | None) -> Team:
    existing = Team.objects.filter(name=name, parent=parent).first()
    return existing or team_create(by=SYSTEM, name=name, parent=parent)


def _user(email: str, first: str, last: str, role: Role, team: Team | None, **extra) -> User:
    user = User.objects.filter(email=email).first()
    if user is None:
        user = User.objects.create_user(email, DEMO_PASSWORD, first_name=first, last_name=last, role=role, team=team,
                                        **extra)
    else:
        User.objects.filter(pk=user.pk).update(role=role, team=team)
        user.refresh_from_db()
    return user


def seed(ctx: dict, log) -> None:
    roles = {}
    for name, values in ROLES.items():
        role, _ = Role.objects.update_or_create(name=name, defaults=values)
        roles[name] = role
    head = _team("Head Office", None)
    eu = _team("Sales EU", head)
    uk = _team("Sales UK", eu)
    latam = _team("Sales LATAM", head)
    finance = _team("Finance & Compliance", head)

    admin = _user("admin@demo.test", "Ada", "Admin", roles["admin"], head, is_staff=True, is_superuser=False)
    User.objects.filter(pk=admin.pk).update(is_staff=True)
    compliance = _user("compliance@demo.test", "Carl", "Compliance", roles["compliance"], finance)
    manager = _user("manager@demo.test", "Maria", "Manager", roles["manager"], eu)
    agent = _user("agent@demo.test", "Alex", "Agent", roles["agent"], uk)
    agent_uk2 = _user("agent2@demo.test", "Beth", "Baker", roles["agent"], uk)
    agent_eu = _user("agent3@demo.test", "Chris", "Costa", roles["agent"], eu)
    agent_latam = _user("agent4@demo.test", "Diego", "Diaz", roles["agent"], latam)
    Team.objects.filter(pk=eu.pk).update(lead=manager)

    ctx.update(roles=roles, teams={"head": head, "eu": eu, "uk": uk, "latam": latam, "finance": finance},
               users={"admin": admin, "compliance": compliance, "manager": manager, "agent": agent,
                      "agent_uk2": agent_uk2, "agent_eu": agent_eu, "agent_latam": agent_latam})
    log(f"{len(roles)} roles, {Team.objects.count()} teams, {User.objects.count()} staff users")
