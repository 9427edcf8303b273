from __future__ import annotations

import zoneinfo

import pgtrigger
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .constants import (
    APPROVAL_RANK,
    EDIT_SCOPE_RANK,
    PII_RANK,
    VIEW_SCOPE_RANK,
    ApprovalLevel,
    EditScope,
    PiiLevel,
    ViewScope,
)

PATH_STEP = 8  # each level of a team path is the team id, zero-padded to 8 digits, then a dot


def path_segment(pk: int) -> str:
    return f"{pk:0{PATH_STEP}d}."


def subtree_q(paths, *, via: str = "team") -> models.Q:
    """THE team-subtree filter: rows whose team (reached through `via`, "" for Team itself) lies at or under any of
    `paths` (materialized path prefixes, indexed). No paths match nothing."""
    lookup = f"{via}__path__startswith" if via else "path__startswith"
    q = models.Q(pk__in=[])
    for path in [paths] if isinstance(paths, str) else paths:
        q |= models.Q(**{lookup: path})
    return q


class TeamQuerySet(models.QuerySet):
    def subtree(self, path: str) -> TeamQuerySet:
        """Every team at or under `path`: one indexed prefix query."""
        return self.filter(subtree_q(path, via=""))


class Team(models.Model):
    """A node of the team tree; `path` is the materialized path of ids from the root ("00000001.00000004.")."""

    name = models.CharField(max_length=120)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    path = models.CharField(max_length=255, unique=True, editable=False)
    lead = models.ForeignKey(
        "teams.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="led_teams"
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = TeamQuerySet.as_manager()

    class Meta:
        ordering = ["path"]
        indexes = [models.Index(fields=["path"], name="team_path_prefix", opclasses=["varchar_pattern_ops"])]

    def __str__(self) -> str:
        return self.name

    @property
    def depth(self) -> int:
        return self.path.count(".")


class Role(models.Model):
    """What a staff member may do: permissions, customer scopes, PII visibility, export right, approval level."""

    name = models.CharField(max_length=80, unique=True)
    permissions = models.JSONField(default=list, blank=True)
    customer_view_scope = models.CharField(max_length=8, choices=ViewScope.choices, default=ViewScope.OWN)
    customer_edit_scope = models.CharField(max_length=8, choices=EditScope.choices, default=EditScope.NONE)
    pii_email = models.CharField(max_length=8, choices=PiiLevel.choices, default=PiiLevel.HIDDEN)
    pii_phone = models.CharField(max_length=8, choices=PiiLevel.choices, default=PiiLevel.HIDDEN)
    can_export_pii = models.BooleanField(default=False)
    approval_level = models.CharField(max_length=12, choices=ApprovalLevel.choices, default=ApprovalLevel.NONE)
    requires_2fa = models.BooleanField(
        default=False, help_text="Members must sign in with a second factor (TOTP or a recovery code)."
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def permission_set(self) -> frozenset[str]:
        return frozenset(self.permissions or ())

    def ranks(self) -> dict[str, int]:
        return {
            "customer_view_scope": VIEW_SCOPE_RANK[self.customer_view_scope],
            "customer_edit_scope": EDIT_SCOPE_RANK[self.customer_edit_scope],
            "pii_email": PII_RANK[self.pii_email],
            "pii_phone": PII_RANK[self.pii_phone],
            "can_export_pii": int(self.can_export_pii),
            "approval_level": APPROVAL_RANK[self.approval_level],
        }


def validate_time_zone(value: str) -> None:
    """A zone name zoneinfo knows (e.g. Europe/Berlin); blank means the server's default."""
    if value and value not in zoneinfo.available_timezones():
        raise ValidationError(f"Unknown time zone {value!r}: use a name such as Europe/Berlin or UTC.",
                              code="invalid_time_zone")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra) -> User:
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra) -> User:
        extra.update(is_staff=True, is_superuser=True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A staff member of the back office: one role, one team. Customers are a separate realm (customers.Customer)."""

    email = models.EmailField(unique=True)
    first_name = models.CharField(max_length=80, blank=True)
    last_name = models.CharField(max_length=80, blank=True)
    role = models.ForeignKey(Role, null=True, blank=True, on_delete=models.PROTECT, related_name="users")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="members")
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False, help_text="May open the Django admin site.")
    date_joined = models.DateTimeField(default=timezone.now)
    time_zone = models.CharField(max_length=64, blank=True, default="", validators=[validate_time_zone],
                                 help_text="IANA zone the workspace shows times in (blank: the server's TIME_ZONE).")

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    def holds(self, code: str) -> bool:
        """Whether this user's role grants the catalog permission `code` (superusers hold everything)."""
        if not self.is_active:
            return False
        if self.is_superuser:
            return True
        return self.role is not None and code in self.role.permission_set


class AuditLog(models.Model):
    """One administrative change (roles, grants, users, teams): who, what, when, before and after. Append-only."""

    actor = models.ForeignKey(User, null=True, on_delete=models.SET_NULL, related_name="audit_entries")
    action = models.CharField(max_length=80)
    object_type = models.CharField(max_length=80)
    object_id = models.CharField(max_length=64)
    before = models.JSONField(null=True, blank=True)
    after = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        triggers = [pgtrigger.Protect(name="audit_append_only", operation=pgtrigger.Update | pgtrigger.Delete)]

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"


class ApiToken(models.Model):
    """A staff member's API key (`Authorization: Token <key>`). Only the key's SHA-256 is stored; a token expires,
    dies with a password change or deactivation, and its holder can list and revoke it (teams.tokens)."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(max_length=80, blank=True)
    key_hash = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8, help_text="The key's first characters, to recognise it in a list.")
    # HMAC of the password hash the token was issued under: a password changed by any path (API, admin site,
    # `changepassword`) makes the token stop working even before it is deleted.
    password_fingerprint = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(null=True, blank=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.user_id})"
