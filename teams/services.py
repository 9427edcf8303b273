"""Writes of teams, roles and staff users. Every grant passes the privilege-escalation guard; every change is audited."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from .constants import PERMISSION_CODES
from .models import AuditLog, Role, Team, User, path_segment
from .twofactor import role_check as role_2fa_check


class TeamsError(Exception):
    code = "validation_error"

    def __init__(self, detail: str, *, fields: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.fields = fields


class PrivilegeEscalation(TeamsError):
    code = "privilege_escalation"


class TeamCycle(TeamsError):
    code = "team_cycle"


ROLE_FIELDS = (
    "name",
    "permissions",
    "customer_view_scope",
    "customer_edit_scope",
    "pii_email",
    "pii_phone",
    "can_export_pii",
    "approval_level",
    "requires_2fa",
)


def _role_snapshot(role: Role) -> dict[str, Any]:
    return {f: getattr(role, f) for f in ROLE_FIELDS}


def _user_snapshot(user: User) -> dict[str, Any]:
    return {
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "role": user.role_id,
        "team": user.team_id,
        "is_active": user.is_active,
    }


def audit_record(*, by: User | None, action: str, obj, before: dict | None, after: dict | None) -> AuditLog:
    """Append one entry to the administrative audit log (same transaction as the change)."""
    return AuditLog.objects.create(
        actor=by,
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        before=before,
        after=after,
    )


# --- privilege escalation -------------------------------------------------------------------------------------


def escalation_check(*, by: User, role: Role | dict[str, Any]) -> None:
    """Refuse a role (or role data) with anything `by` does not hold: permission, scope, PII, export, approval.

    Superusers hold everything. Raises PrivilegeEscalation naming what is beyond the caller."""
    if by.is_superuser:
        return
    own = by.role
    if own is None:
        raise PrivilegeEscalation("You hold no role, so you cannot grant one.")
    candidate = role if isinstance(role, Role) else Role(**{k: v for k, v in role.items() if k in ROLE_FIELDS})
    beyond = sorted(set(candidate.permissions or ()) - own.permission_set)
    mine, theirs = own.ranks(), candidate.ranks()
    beyond += [field for field, rank in theirs.items() if rank > mine[field]]
    if beyond:
        raise PrivilegeEscalation(
            "You cannot grant what you do not hold: " + ", ".join(beyond) + ".",
        )


def _validate_permissions(codes: list[str]) -> list[str]:
    unknown = sorted(set(codes) - PERMISSION_CODES)
    if unknown:
        raise TeamsError("Unknown permissions.", fields={"permissions": [f"Unknown permission: {c}" for c in unknown]})
    return sorted(set(codes))


# --- roles ----------------------------------------------------------------------------------------------------


@transaction.atomic
def role_create(*, by: User, **data: Any) -> Role:
    """Create a role. Refused (privilege_escalation) if it holds anything beyond the creator's own role."""
    data["permissions"] = _validate_permissions(list(data.get("permissions", [])))
    role = Role(**{k: v for k, v in data.items() if k in ROLE_FIELDS})
    escalation_check(by=by, role=role)
    if Role.objects.filter(name__iexact=role.name).exists():
        raise TeamsError("A role with that name exists.", fields={"name": ["A role with that name exists."]})
    role_2fa_check(role)
    role.save()
    audit_record(by=by, action="role.created", obj=role, before=None, after=_role_snapshot(role))
    return role


@transaction.atomic
def role_update(*, by: User, role: Role, **data: Any) -> Role:
    """Change a role. Nobody changes their own role; the result must not exceed the editor's own role."""
    role = Role.objects.select_for_update().get(pk=role.pk)
    if not by.is_superuser and by.role_id == role.pk:
        raise PrivilegeEscalation("You cannot change your own role.")
    before = _role_snapshot(role)
    # The editor must already hold everything the role grants today, or they could edit a stronger role.
    escalation_check(by=by, role=role)
    if "permissions" in data:
        data["permissions"] = _validate_permissions(list(data["permissions"]))
    for key, value in data.items():
        if key in ROLE_FIELDS:
            setattr(role, key, value)
    escalation_check(by=by, role=role)
    role_2fa_check(role)
    role.save()
    audit_record(by=by, action="role.updated", obj=role, before=before, after=_role_snapshot(role))
    return role


# --- users ----------------------------------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *, by: User, email: str, password: str, first_name: str = "", last_name: str = "", role: Role | None = None,
    team: Team | None = None,
) -> User:
    """Create a staff user. Giving a role beyond the creator's own is privilege_escalation."""
    if role is not None:
        escalation_check(by=by, role=role)
    email = User.objects.normalize_email(email).lower()
    if User.objects.filter(email__iexact=email).exists():
        raise TeamsError("A user with that email exists.", fields={"email": ["A user with that email exists."]})
    candidate = User(email=email, first_name=first_name, last_name=last_name, role=role, team=team)
    try:
        validate_password(password, candidate)
    except Exception as exc:  # django.core.exceptions.ValidationError
        raise TeamsError("The password is too weak.", fields={"password": list(exc.messages)}) from None
    candidate.set_password(password)
    candidate.save()
    audit_record(by=by, action="user.created", obj=candidate, before=None, after=_user_snapshot(candidate))
    return candidate


@transaction.atomic
def user_update(*, by: User, user: User, **data: Any) -> User:
    """Change a staff user. Nobody changes their own role; a new role beyond the editor's is privilege_escalation."""
    user = User.objects.select_for_update().get(pk=user.pk)
    before = _user_snapshot(user)
    if "role" in data and data["role"] != user.role:
        if user.pk == by.pk and not by.is_superuser:
            raise PrivilegeEscalation("You cannot change your own role.")
        if user.role is not None:
            escalation_check(by=by, role=user.role)  # demoting someone stronger is an escalation too
        if data["role"] is not None:
            escalation_check(by=by, role=data["role"])
    elif user.role is not None and user.pk != by.pk:
        escalation_check(by=by, role=user.role)
    if "password" in data:
        password = data.pop("password")
        try:
            validate_password(password, user)
        except Exception as exc:
            raise TeamsError("The password is too weak.", fields={"password": list(exc.messages)}) from None
        user.set_password(password)
    for key in ("first_name", "last_name", "role", "team", "is_active"):
        if key in data:
            setattr(user, key, data[key])
    user.save()
    audit_record(by=by, action="user.updated", obj=user, before=before, after=_user_snapshot(user))
    return user


# --- teams ----------------------------------------------------------------------------------------------------


@transaction.atomic
def team_create(*, by: User | None, name: str, parent: Team | None = None, lead: User | None = None) -> Team:
    """Create a team under `parent` (or a root). Its path is the parent's path plus its own id."""
    team = Team.objects.create(name=name, parent=parent, lead=lead, path=f"~{uuid.uuid4().hex}")
    team.path = (parent.path if parent else "") + path_segment(team.pk)
    Team.objects.filter(pk=team.pk).update(path=team.path)
    audit_record(by=by, action="team.created", obj=team, before=None, after={"name": name, "parent": team.parent_id})
    return team


@transaction.atomic
def team_move(*, by: User | None, team: Team, new_parent: Team | None) -> Team:
    """Move a subtree under `new_parent`: refuses cycles; rewrites every descendant's path in one statement."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    if new_parent is not None:
        new_parent = Team.objects.get(pk=new_parent.pk)
        if new_parent.path.startswith(team.path):
            raise TeamCycle("A team cannot move under itself or its own descendants.", fields={"parent": ["Cycle."]})
    old_prefix = team.path
    new_prefix = (new_parent.path if new_parent else "") + path_segment(team.pk)
    before = {"parent": team.parent_id, "path": old_prefix}
    Team.objects.filter(path__startswith=old_prefix).update(
        path=Concat(Value(new_prefix), Substr(F("path"), len(old_prefix) + 1))
    )
    Team.objects.filter(pk=team.pk).update(parent=new_parent)
    team.refresh_from_db()
    audit_record(by=by, action="team.moved", obj=team, before=before, after={"parent": team.parent_id, "path": team.path})
    return team


@transaction.atomic
def team_update(*, by: User, team: Team, **data: Any) -> Team:
    before = {"name": team.name, "lead": team.lead_id}
    for key in ("name", "lead"):
        if key in data:
            setattr(team, key, data[key])
    team.save()
    audit_record(by=by, action="team.updated", obj=team, before=before, after={"name": team.name, "lead": team.lead_id})
    return team
