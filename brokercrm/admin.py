"""Admin helpers shared by every app (the redacting one is `teams.pii_admin.RedactedAdmin`)."""

from django.contrib import admin


class ReadOnlyAdmin(admin.ModelAdmin):
    """A model the admin may list and read but never change: append-only records, or rows whose writes must go
    through services (and their guards)."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
