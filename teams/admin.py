from django.contrib import admin

from brokercrm.admin import RedactedAdmin

from .models import AuditLog, Role, Team, User


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "path", "parent", "lead"]
    search_fields = ["name"]


@admin.register(Role)
class RoleAdmin(admin.ModelAdmin):
    list_display = ["name", "customer_view_scope", "customer_edit_scope", "pii_email", "pii_phone",
                    "can_export_pii", "approval_level"]

    def has_add_permission(self, request):
        return False  # roles are granted through the API, where the privilege-escalation guard runs

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ["email", "first_name", "last_name", "role", "team", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    readonly_fields = ["role", "password", "last_login", "date_joined", "is_superuser", "groups", "user_permissions"]
    actions = ["unlock", "reset_2fa"]

    @admin.action(description="Reset two-factor authentication (lost phone: the user enrols again)")
    def reset_2fa(self, request, queryset):
        from .twofactor import two_factor_reset

        for user in queryset:
            two_factor_reset(by=request.user, user=user)
        self.message_user(request, f"Two-factor authentication reset for {queryset.count()} user(s).")

    @admin.action(description="Unlock (forget failed logins from every address)")
    def unlock(self, request, queryset):
        from .lockout import user_unlock

        for user in queryset:
            user_unlock(by=request.user, user=user)
        self.message_user(request, f"Unlocked {queryset.count()} user(s).")


@admin.register(AuditLog)
class AuditLogAdmin(RedactedAdmin):
    list_display = ["created_at", "actor", "action", "object_type", "object_id"]
    list_filter = ["action", "object_type"]
    redacted_fields = ("before", "after")

    def redacted_customer(self, obj):
        if obj.object_type != "customers.customer" or not obj.object_id.isdigit():
            return None
        from customers.models import Customer

        return Customer.objects.filter(pk=obj.object_id).first()
