"""Reads of the team tree and staff."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from .models import AuditLog, Role, Team, User, subtree_q


def team_paths_for(*, user: User) -> list[str]:
    """The subtree roots a user's `team` scope covers: their own team and every team they lead.

    Nested roots are dropped (a led team inside the user's own team adds nothing)."""
    paths = set()
    if user.team_id and user.team is not None:
        paths.add(user.team.path)
    paths.update(Team.objects.filter(lead=user).values_list("path", flat=True))
    return sorted(p for p in paths if not any(p != q and p.startswith(q) for q in paths))


def team_list(*, user: User) -> QuerySet[Team]:
    return Team.objects.select_related("parent", "lead")


def team_subtree(*, team: Team) -> QuerySet[Team]:
    return Team.objects.subtree(team.path)


def teams_visible_to(*, user: User) -> QuerySet[Team]:
    """Teams whose customers `user` may see as a team: every team for view scope `all` (and superusers), else the
    subtrees of their own team and the teams they lead. Filters by a team id (`?team=`) pick from these."""
    if user.is_superuser or getattr(user.role, "customer_view_scope", None) == "all":
        return Team.objects.all()
    return Team.objects.filter(subtree_q(team_paths_for(user=user), via=""))


def user_list(*, user: User) -> QuerySet[User]:
    return User.objects.select_related("role", "team")


def users_assignable_by(*, user: User) -> QuerySet[User]:
    """Agents `user` may assign customers to: within their edit scope (own: themselves; team: their subtrees)."""
    qs = User.objects.filter(is_active=True).select_related("role", "team")
    if user.is_superuser:
        return qs
    scope = user.role.customer_edit_scope if user.role else "none"
    if scope == "all":
        return qs
    if scope == "team":
        return qs.filter(subtree_q(team_paths_for(user=user)) | Q(pk=user.pk))
    if scope == "own":
        return qs.filter(pk=user.pk)
    return qs.none()


def role_list(*, user: User) -> QuerySet[Role]:
    return Role.objects.all()


def audit_list(*, user: User) -> QuerySet[AuditLog]:
    return AuditLog.objects.select_related("actor")
