"""The workspace's page base: staff login required, an optional catalog permission, 403 otherwise."""

from __future__ import annotations

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied


class WorkspaceMixin(LoginRequiredMixin):
    required_permission: str | None = None

    def dispatch(self, request, *args, **kwargs):
        if not request.user.is_authenticated:
            return self.handle_no_permission()
        if not hasattr(request.user, "holds"):
            raise PermissionDenied
        if self.required_permission and not request.user.holds(self.required_permission):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)
