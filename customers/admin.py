from django.contrib import admin

from brokercrm.admin import ReadOnlyAdmin
from teams import pii
from teams.pii_admin import RedactedAdmin

from .kyc.models import KycDocument, KycSettings
from .models import Activity, Affiliate, Customer, CustomerGroup, FraudSettings, PromoCode, RegistrationPath


@admin.register(CustomerGroup)
class CustomerGroupAdmin(admin.ModelAdmin):
    list_display = ["name", "description"]


@admin.register(Customer)
class CustomerAdmin(ReadOnlyAdmin):
    """Read-only in the admin; scoped by visible_to and PII masked for the viewer, like every other door."""

    list_filter = ["source", "retention_class", "country"]
    search_fields = ["first_name", "last_name"]
    exclude = ["email", "phone", "password", "email_canonical"]

    def _pii_columns(self, request):
        # Closures over the request: the admin instance is shared between requests, so no state on self.
        def email(obj):
            return pii.show_email(obj.email, request.user)

        def phone(obj):
            return pii.show_phone(obj.phone, request.user)

        return email, phone

    def get_list_display(self, request):
        return ["id", "first_name", "last_name", *self._pii_columns(request), "country", "source",
                "sales_status", "kyc_status", "finance_status", "retention_class"]

    def get_readonly_fields(self, request, obj=None):
        return list(self._pii_columns(request))

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user)


@admin.register(Activity)
class ActivityAdmin(RedactedAdmin):
    list_display = ["created_at", "customer", "verb", "summary"]
    redacted_fields = ("summary", "data")

    def get_queryset(self, request):
        return super().get_queryset(request).visible_to(request.user).select_related("customer")


@admin.register(RegistrationPath)
class RegistrationPathAdmin(admin.ModelAdmin):
    list_display = ["source", "enabled", "default_group", "check_disposable", "check_duplicates", "rate_limit"]


@admin.register(FraudSettings)
class FraudSettingsAdmin(admin.ModelAdmin):
    list_display = ["__str__", "reject_threshold", "flag_threshold", "strict_phone_validation", "updated_at"]

    def has_add_permission(self, request):
        return not FraudSettings.objects.exists()


@admin.register(PromoCode)
class PromoCodeAdmin(admin.ModelAdmin):
    list_display = ["code", "group", "valid_from", "valid_until", "uses", "max_uses", "is_active"]
    readonly_fields = ["uses"]
    search_fields = ["code"]


@admin.register(Affiliate)
class AffiliateAdmin(admin.ModelAdmin):
    """API keys are issued through POST /api/platform/affiliates (shown once); the admin never sees them."""

    list_display = ["code", "name", "group", "is_active", "created_at"]
    readonly_fields = ["api_key_hash"]

    def has_add_permission(self, request):
        return False



@admin.register(KycSettings)
class KycSettingsAdmin(admin.ModelAdmin):
    """The broker's KYC switches: required kinds, four-eyes, expiry warning, money gates, provider auto-approval."""

    list_display = ["__str__", "four_eyes", "expiry_warning_days", "gate_deposits_above_usd", "gate_withdrawals",
                    "gate_further_accounts", "provider_auto_approve", "updated_at"]

    def has_add_permission(self, request):
        return not KycSettings.objects.exists()


@admin.register(KycDocument)
class KycDocumentAdmin(admin.ModelAdmin):
    """Read-only: documents are reviewed in the workspace (/kyc/) and their files opened through signed links."""

    list_display = ["pk", "customer_id", "kind", "status", "content_type", "expires_on", "created_at"]
    list_filter = ["status", "kind"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
