"""Django's permission checks (`user.has_perm`, django-fsm's `permission=`) answered from the user's role."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from brokercrm.api.errors import error_body
from brokercrm.errors import RateLimited

from .constants import PERMISSION_CODES
from .forms import LoginForm


class RoleBackend(ModelBackend):
    """Authenticates staff by email and password; grants the catalog permissions of the user's role."""

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if user_obj.is_superuser:
            return set(PERMISSION_CODES)
        role = getattr(user_obj, "role", None)
        return set(role.permission_set) if role else set()

    def has_perm(self, user_obj, perm, obj=None):
        if perm in PERMISSION_CODES:
            return perm in self.get_all_permissions(user_obj)
        # Django's own model permissions (the admin site) stay with superusers.
        return user_obj.is_active and user_obj.is_superuser

    def has_module_perms(self, user_obj, app_label):
        return user_obj.is_active and user_obj.is_superuser


def axes_username(request, credentials) -> str | None:
    """django-axes counts failures per email: the API passes `email`, the login form passes `username`."""
    credentials = credentials or {}
    value = credentials.get("email") or credentials.get("username")
    if value is None and request is not None:
        value = request.POST.get("username") or request.POST.get("email")
    return value.lower() if value else None


# Login pages of higher apps' realms, by path prefix: a renderer takes the request and returns the locked-out page
# (status 429). The client area's (`/client/`) is registered by customers in its AppConfig.ready().
_lockout_pages: dict[str, object] = {}


def lockout_page_register(path_prefix: str, renderer) -> None:
    """Render locked-out logins under `path_prefix` with `renderer(request)` instead of the staff login page."""
    _lockout_pages[path_prefix] = renderer


def axes_lockout_response(request, original_response=None, credentials=None):
    """Locked-out logins: the API's JSON error (429 with Retry-After); the login page re-renders with a message."""
    from django.conf import settings
    from django.http import JsonResponse
    from django.shortcuts import render


    retry_after = str(int(settings.AXES_COOLOFF_TIME * 3600))
    if request.path.startswith("/api/"):
        error = RateLimited("Too many failed logins for this account; try again later.")
        response = JsonResponse(error_body(error.code, error.detail), status=error.status)
    else:
        renderer = next((r for prefix, r in _lockout_pages.items() if request.path.startswith(prefix)), None)
        if renderer is not None:
            response = renderer(request)
        else:
            form = LoginForm(request)
            response = render(request, "workspace/login.html", {"form": form, "locked": True}, status=429)
    response["Retry-After"] = retry_after
    return response
