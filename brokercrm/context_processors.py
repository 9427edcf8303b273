"""Navigation of the workspace: each entry shows only to users holding its permission."""

from __future__ import annotations

from .adminpages import ADMIN_PERMISSIONS

NAV = [
    ("Dashboard", "/", "reports.view_dashboard"),
    ("Customers", "/customers/", "customers.view"),
    ("Tasks", "/tasks/", "pipelines.manage_tasks"),
    ("Activity", "/activity/", "customers.view"),
    ("Imports", "/imports/", "customers.import"),
    ("Approvals", "/approvals/", "finance.approve_transactions"),
    ("KYC review", "/kyc/", "pipelines.change_kyc_status"),
    ("Templates", "/templates/", "communications.view_templates"),
    # Any one of the administration sections' permissions (brokercrm.adminpages.SECTIONS) shows the entry.
    ("Administration", "/administration/", "administration.*"),
]


def nav_allows(user, code: str) -> bool:
    """Whether `user` may see a NAV entry: its permission, or for "administration.*" any administration section's."""
    if code == "administration.*":
        return any(user.holds(c) for c in ADMIN_PERMISSIONS)
    return user.holds(code)


def navigation(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated or not hasattr(user, "holds"):
        return {"nav": []}
    return {"nav": [{"label": label, "url": url} for label, url, code in NAV if nav_allows(user, code)]}
