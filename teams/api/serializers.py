from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from .. import pii
from ..constants import ApprovalLevel, EditScope, PiiLevel, ViewScope
from ..models import ApiToken, AuditLog, Role, Team, User


class PermissionOut(serializers.Serializer):
    code = serializers.CharField()
    category = serializers.CharField()
    description = serializers.CharField()


class RoleOut(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "name", "permissions", "customer_view_scope", "customer_edit_scope", "pii_email",
                  "pii_phone", "can_export_pii", "approval_level", "requires_2fa", "created_at", "updated_at"]


class RoleIn(serializers.Serializer):
    name = serializers.CharField(max_length=80)
    permissions = serializers.ListField(child=serializers.CharField(max_length=64), allow_empty=True)
    customer_view_scope = serializers.ChoiceField(ViewScope.choices)
    customer_edit_scope = serializers.ChoiceField(EditScope.choices)
    pii_email = serializers.ChoiceField(PiiLevel.choices)
    pii_phone = serializers.ChoiceField(PiiLevel.choices)
    can_export_pii = serializers.BooleanField(default=False)
    approval_level = serializers.ChoiceField(ApprovalLevel.choices, default=ApprovalLevel.NONE)
    requires_2fa = serializers.BooleanField(default=False)


class TeamOut(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["id", "name", "parent", "path", "lead", "depth"]


class TeamIn(serializers.Serializer):
    name = serializers.CharField(max_length=120)
    parent = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    lead = serializers.PrimaryKeyRelatedField(queryset=User.objects.all(), allow_null=True, required=False)


class UserOut(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "email", "first_name", "last_name", "role", "team", "is_active", "date_joined"]


class UserIn(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False, write_only=True)
    first_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    last_name = serializers.CharField(max_length=80, required=False, allow_blank=True, default="")
    role = serializers.PrimaryKeyRelatedField(queryset=Role.objects.all(), allow_null=True)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)


class UserPatch(serializers.Serializer):
    password = serializers.CharField(trim_whitespace=False, write_only=True, required=False)
    first_name = serializers.CharField(max_length=80, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=80, required=False, allow_blank=True)
    role = serializers.PrimaryKeyRelatedField(queryset=Role.objects.all(), allow_null=True, required=False)
    team = serializers.PrimaryKeyRelatedField(queryset=Team.objects.all(), allow_null=True, required=False)
    is_active = serializers.BooleanField(required=False)


class AuditOut(serializers.ModelSerializer):
    """An audit entry; the snapshots may hold staff-typed reasons (an unfreeze's), shown per viewer like any free
    text (with the customer's own email and phone known when the entry is about a customer)."""

    actor = serializers.SlugRelatedField(slug_field="email", read_only=True, allow_null=True)
    before = serializers.SerializerMethodField()
    after = serializers.SerializerMethodField()

    def _redact(self, obj, value):
        request = self.context.get("request")
        viewer = request.user if request else None
        if value is None or pii.sees_contacts(viewer):
            return value
        customer = pii.subject_for(obj.object_type, obj.object_id)
        return pii.redact_data(value, viewer, customer)

    def get_before(self, obj) -> dict | None:
        return self._redact(obj, obj.before)

    def get_after(self, obj) -> dict | None:
        return self._redact(obj, obj.after)

    class Meta:
        model = AuditLog
        fields = ["id", "actor", "action", "object_type", "object_id", "before", "after", "created_at"]


class ApiTokenOut(serializers.ModelSerializer):
    current = serializers.SerializerMethodField(help_text="Whether this request authenticated with this token.")

    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "last_used_at", "expires_at", "current"]

    def get_current(self, token) -> bool:
        auth = self.context.get("auth")
        return isinstance(auth, ApiToken) and auth.pk == token.pk


@extend_schema_serializer(component_name="Input")  # the schema's name for it since the first release
class TokenLoginIn(serializers.Serializer):
    """`POST /api/auth/token`: staff email and password, and the two-factor code of a user with 2FA."""

    email = serializers.EmailField()
    password = serializers.CharField(trim_whitespace=False)
    otp = serializers.CharField(required=False, allow_blank=True, max_length=20,
                                help_text="The current two-factor code (or a recovery code) of a user with 2FA.")
