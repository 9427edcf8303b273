"""Writes of teams, roles and staff users.

Every grant passes the privilege-escalation guard; every change is audited."""

from __future__ import annotations

import uuid
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Value
from django.db.models.functions import Concat, Substr

from brokercrm.actors import SystemActor, actor_check, actor_user
from brokercrm.errors import DomainError
from brokercrm.uniques import unique_or

from .constants import PERMISSION_CODES, ViewScope
from .models import AuditLog, Role, Team, User, path_segment, validate_time_zone
from .selectors import team_paths_for
from .twofactor import role_check as role_2fa_check


class TeamsError(DomainError):
    """An error of this app's services (see brokercrm.errors): invalid input, or one of the codes below."""


class PrivilegeEscalation(TeamsError):
    """Granting, or acting on, more than the caller holds."""

    code = "privilege_escalation"
    status = 403

    def __init__(self, detail: str, *, fields: dict[str, list[str]] | None = None, beyond: list[str] | None = None):
        super().__init__(detail, fields=fields)
        self.beyond = beyond or []  # the permission codes and role fields beyond the caller (pages name them)


class InvalidCredentials(TeamsError):
    code = "invalid_credentials"
    status = 401


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


def audit_record(*, by: User | SystemActor | None, action: str, obj, before: dict | None,
                 after: dict | None) -> AuditLog:
    """Append one entry to the administrative audit log (same transaction as the change)."""
    return AuditLog.objects.create(
        actor=actor_user(by),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        before=before,
        after=after,
    )


# --- privilege escalation -------------------------------------------------------------------------------------


def _beyond(*, by: User, role: Role) -> list[str]:
    """What `role` grants that `by`'s own role does not: permission codes and rank fields (scope, PII, …)."""
    own = by.role
    assert own is not None  # escalation_check refuses a caller without a role first
    beyond = sorted(set(role.permissions or ()) - own.permission_set)
    mine, theirs = own.ranks(), role.ranks()
    return beyond + [field for field, rank in theirs.items() if rank > mine[field]]


def escalation_check(*, by: User, role: Role | dict[str, Any]) -> None:
    """Refuse a role (or role data) with anything `by` does not hold: permission, scope, PII, export, approval.

    Superusers hold everything. Raises PrivilegeEscalation naming what is beyond the caller."""
    if by.is_superuser:
        return
    if by.role is None:
        raise PrivilegeEscalation("You hold no role, so you cannot grant one.")
    candidate = role if isinstance(role, Role) else Role(**{k: v for k, v in role.items() if k in ROLE_FIELDS})
    beyond = _beyond(by=by, role=candidate)
    if beyond:
        raise PrivilegeEscalation(
            "You cannot grant what you do not hold: " + ", ".join(beyond) + ".", beyond=beyond,
        )


def tree_unrestricted(user: User) -> bool:
    """Whether `user` may place users and shape the team tree anywhere: superusers, and view scope `all` (unless
    their edit scope is `team`, which the tree would widen)."""
    if user.is_superuser:
        return True
    role = user.role
    return role is not None and role.customer_view_scope == ViewScope.ALL and role.customer_edit_scope != "team"


def _within_reach(*, by: User, path: str | None) -> bool:
    """Whether a team path lies inside `by`'s own subtrees (their team and the teams they lead)."""
    if tree_unrestricted(by):
        return True
    if not path:
        return False
    return any(path.startswith(root) for root in team_paths_for(user=by))


def user_edit_check(*, by: User, target: User) -> None:
    """Refuse acting on a user stronger than `by` in any dimension, or outside `by`'s subtree.

    Stronger: a superuser (only a superuser acts on one), admin-site access (`is_staff`), any permission, scope,
    PII level, export right or approval level of their role beyond `by`'s. Reach: unless `by`'s tree is
    unrestricted (see tree_unrestricted), the target's team and every team they lead must be in `by`'s subtrees.
    Acting on oneself passes here; the own-role/own-team rules are the callers'."""
    if by.is_superuser:
        return
    if target.is_superuser:
        raise PrivilegeEscalation("Only a superuser can change a superuser.")
    if target.pk == by.pk:
        return
    if target.is_staff and not by.is_staff:
        raise PrivilegeEscalation("This user can open the admin site and you cannot.")
    if target.role is not None:
        if by.role is None:
            raise PrivilegeEscalation("This user holds a role and you hold none.")
        beyond = _beyond(by=by, role=target.role)
        if beyond:
            raise PrivilegeEscalation("This user holds what you do not: " + ", ".join(beyond) + ".", beyond=beyond)
    if not tree_unrestricted(by):
        paths = team_paths_for(user=target)
        if not paths or not all(_within_reach(by=by, path=p) for p in paths):
            raise PrivilegeEscalation("This user is outside your team subtree.")


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
    taken = TeamsError("A role with that name exists.", fields={"name": ["A role with that name exists."]})
    if Role.objects.filter(name__iexact=role.name).exists():
        raise taken
    role_2fa_check(role)
    with unique_or(taken):  # a concurrent request may take the name after the check
        role.save()
    audit_record(by=by, action="role.created", obj=role, before=None, after=_role_snapshot(role))
    return role


@transaction.atomic
def role_update(*, by: User, role: Role, **data: Any) -> Role:
    """Change a role. Nobody changes their own role; the result must not exceed the editor's own role; an editor
    whose tree is restricted changes only roles whose holders are all inside their subtree."""
    role = Role.objects.select_for_update().get(pk=role.pk)
    if not by.is_superuser and by.role_id == role.pk:
        raise PrivilegeEscalation("You cannot change your own role.")
    before = _role_snapshot(role)
    # The editor must already hold everything the role grants today, or they could edit a stronger role.
    escalation_check(by=by, role=role)
    if not tree_unrestricted(by):
        # Changing a role changes every holder: they must all be users the editor may change.
        for holder in role.users.select_related("role", "team"):
            user_edit_check(by=by, target=holder)
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
    """Create a staff user. A role beyond the creator's own, or a team outside their subtree, is
    privilege_escalation."""
    if role is not None:
        escalation_check(by=by, role=role)
    if team is not None and not _within_reach(by=by, path=team.path):
        raise PrivilegeEscalation("You can only place users in your own team subtree.")
    email = User.objects.normalize_email(email).lower()
    taken = TeamsError("A user with that email exists.", fields={"email": ["A user with that email exists."]})
    if User.objects.filter(email__iexact=email).exists():
        raise taken
    candidate = User(email=email, first_name=first_name, last_name=last_name, role=role, team=team)
    try:
        validate_password(password, candidate)
    except ValidationError as exc:
        raise TeamsError("The password is too weak.", fields={"password": list(exc.messages)}) from None
    candidate.set_password(password)
    with unique_or(taken):  # a concurrent request may take the email after the check
        candidate.save()
    audit_record(by=by, action="user.created", obj=candidate, before=None, after=_user_snapshot(candidate))
    return candidate


@transaction.atomic
def user_update(*, by: User, user: User, **data: Any) -> User:
    """Change a staff user (any field, password included).

    Refused with privilege_escalation: a target stronger than the editor or outside their subtree
    (user_edit_check); changing one's own role or team; a new role beyond the editor's; a new team outside their
    subtree. A new password or a deactivation revokes the user's API tokens (their sessions end by themselves:
    Django checks the password hash and `is_active` on every request). A password change is audited without
    the secret."""
    from .tokens import tokens_revoke

    user = User.objects.select_for_update(of=("self",)).select_related("role", "team").get(pk=user.pk)
    user_edit_check(by=by, target=user)
    before = _user_snapshot(user)
    own = user.pk == by.pk and not by.is_superuser
    if "role" in data and data["role"] != user.role:
        if own:
            raise PrivilegeEscalation("You cannot change your own role.")
        if data["role"] is not None:
            escalation_check(by=by, role=data["role"])
    if "team" in data and data["team"] != user.team:
        if own:
            raise PrivilegeEscalation("You cannot change your own team.")
        if data["team"] is not None and not _within_reach(by=by, path=data["team"].path):
            raise PrivilegeEscalation("You can only place users in your own team subtree.")
    password_changed = "password" in data
    if password_changed:
        password = data.pop("password")
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise TeamsError("The password is too weak.", fields={"password": list(exc.messages)}) from None
        user.set_password(password)
    for key in ("first_name", "last_name", "role", "team", "is_active"):
        if key in data:
            setattr(user, key, data[key])
    user.save()
    audit_record(by=by, action="user.updated", obj=user, before=before, after=_user_snapshot(user))
    revoked = 0
    if password_changed or (before["is_active"] and not user.is_active):
        revoked = tokens_revoke(user=user, by=by, reason="password_changed" if password_changed else "deactivated")
    if password_changed:
        # Who and when, never the secret or its hash.
        action = "user.password_changed" if user.pk == by.pk else "user.password_reset"
        audit_record(by=by, action=action, obj=user, before=None,
                     after={"password": "reset", "api_tokens_revoked": revoked, "sessions_ended": True})
    return user


# --- teams ----------------------------------------------------------------------------------------------------


def _team_shape_check(*, by: User | SystemActor, team: Team | None = None, parent: Team | None = None,
                      parent_given: bool = False) -> None:
    """Shaping the tree stays inside the caller's own subtrees (unless their tree is unrestricted): the team
    touched and the new parent must be in them, and only the unrestricted make root teams. `by=SYSTEM` is the
    system (demo seeding, migrations); `by=None` raises."""
    actor_check(by)
    if isinstance(by, SystemActor) or tree_unrestricted(by):
        return
    if team is not None and not _within_reach(by=by, path=team.path):
        raise PrivilegeEscalation("This team is outside your team subtree.")
    if parent_given and (parent is None or not _within_reach(by=by, path=parent.path)):
        raise PrivilegeEscalation("You can only place teams inside your own team subtree.")


def _lead_check(*, by: User | SystemActor, new_lead: User | None, old_lead: User | None = None) -> None:
    """Nobody makes themselves a lead; a lead given or taken away must be a user the caller may change."""
    actor_check(by)
    if isinstance(by, SystemActor):
        return
    if new_lead is not None and new_lead.pk == by.pk and not by.is_superuser:
        raise PrivilegeEscalation("You cannot make yourself a team lead.")
    for user in (new_lead, old_lead):
        if user is not None and user.pk != by.pk:
            user_edit_check(by=by, target=User.objects.select_related("role", "team").get(pk=user.pk))


@transaction.atomic
def team_create(*, by: User | SystemActor, name: str, parent: Team | None = None, lead: User | None = None) -> Team:
    """Create a team under `parent` (or a root). Its path is the parent's path plus its own id.

    Staff callers: the parent must be in their subtree (roots only for the unrestricted), and the lead must not be
    themselves nor someone they may not change (privilege_escalation)."""
    _team_shape_check(by=by, parent=parent, parent_given=True)
    _lead_check(by=by, new_lead=lead)
    team = Team.objects.create(name=name, parent=parent, lead=lead, path=f"~{uuid.uuid4().hex}")
    team.path = (parent.path if parent else "") + path_segment(team.pk)
    Team.objects.filter(pk=team.pk).update(path=team.path)
    audit_record(by=by, action="team.created", obj=team, before=None,
                 after={"name": name, "parent": team.parent_id, "lead": team.lead_id})
    return team


@transaction.atomic
def team_move(*, by: User | SystemActor, team: Team, new_parent: Team | None) -> Team:
    """Move a subtree under `new_parent`: refuses cycles; rewrites every descendant's path in one statement.

    Staff callers move only teams of their subtree, under a parent in their subtree (privilege_escalation)."""
    team = Team.objects.select_for_update().get(pk=team.pk)
    if new_parent is not None:
        new_parent = Team.objects.get(pk=new_parent.pk)
    _team_shape_check(by=by, team=team, parent=new_parent, parent_given=True)
    if new_parent is not None and new_parent.path.startswith(team.path):
        raise TeamCycle("A team cannot move under itself or its own descendants.", fields={"parent": ["Cycle."]})
    old_prefix = team.path
    new_prefix = (new_parent.path if new_parent else "") + path_segment(team.pk)
    before = {"parent": team.parent_id, "path": old_prefix}
    Team.objects.subtree(old_prefix).update(
        path=Concat(Value(new_prefix), Substr(F("path"), len(old_prefix) + 1))
    )
    Team.objects.filter(pk=team.pk).update(parent=new_parent)
    team.refresh_from_db()
    audit_record(by=by, action="team.moved", obj=team, before=before,
                 after={"parent": team.parent_id, "path": team.path})
    return team


@transaction.atomic
def team_update(*, by: User, team: Team, **data: Any) -> Team:
    """Rename a team or change its lead: the team must be in the caller's subtree; nobody makes themselves a lead,
    and the new and the old lead must be users the caller may change (privilege_escalation)."""
    team = Team.objects.select_for_update(of=("self",)).select_related("lead").get(pk=team.pk)
    _team_shape_check(by=by, team=team)
    if "lead" in data and data["lead"] != team.lead:
        _lead_check(by=by, new_lead=data["lead"], old_lead=team.lead)
    before = {"name": team.name, "lead": team.lead_id}
    for key in ("name", "lead"):
        if key in data:
            setattr(team, key, data[key])
    team.save()
    audit_record(by=by, action="team.updated", obj=team, before=before, after={"name": team.name, "lead": team.lead_id})
    return team


# --- the staff member's own profile -------------------------------------------------------------------------------

@transaction.atomic
def user_time_zone_set(*, user: User, time_zone: str) -> User:
    """A staff member sets the zone the workspace shows their times in (their own profile; audited).

    Blank resets to the server's TIME_ZONE. An unknown zone is refused with `invalid_time_zone`."""
    time_zone = (time_zone or "").strip()
    try:
        validate_time_zone(time_zone)
    except ValidationError as error:
        raise TeamsError(error.messages[0], fields={"time_zone": error.messages}) from None
    user = User.objects.select_for_update().get(pk=user.pk)
    if user.time_zone == time_zone:
        return user
    before = {"time_zone": user.time_zone}
    user.time_zone = time_zone
    user.save(update_fields=["time_zone"])
    audit_record(by=user, action="user.time_zone_changed", obj=user, before=before, after={"time_zone": time_zone})
    return user
