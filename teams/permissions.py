"""DRF permission classes built on the role's catalog permissions."""

from __future__ import annotations

from rest_framework.permissions import BasePermission


class IsStaffUser(BasePermission):
    """Authenticated staff users (every back-office endpoint's floor)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(user and user.is_authenticated and user.is_active and hasattr(user, "holds"))


def require(*codes: str, any_of: bool = False) -> type[BasePermission]:
    """A permission class requiring the catalog permissions `codes` (all of them, or any with `any_of`)."""

    class _Require(IsStaffUser):
        message = f"This needs the permission {' or '.join(codes) if any_of else ', '.join(codes)}."

        def has_permission(self, request, view) -> bool:
            if not super().has_permission(request, view):
                return False
            check = any if any_of else all
            return check(request.user.holds(code) for code in codes)

    _Require.__name__ = f"Require_{'_'.join(c.replace('.', '_') for c in codes)}"
    return _Require


class ActionPermissions(IsStaffUser):
    """Per-action catalog permissions for a ViewSet: set `action_permissions = {"list": "x.view", ...}`.

    Actions not listed need only staff authentication; `"*"` is the default for unlisted actions."""

    def has_permission(self, request, view) -> bool:
        if not super().has_permission(request, view):
            return False
        mapping = getattr(view, "action_permissions", {})
        code = mapping.get(getattr(view, "action", None) or "", mapping.get("*"))
        if code is None:
            return True
        codes = (code,) if isinstance(code, str) else tuple(code)
        return all(request.user.holds(c) for c in codes)
