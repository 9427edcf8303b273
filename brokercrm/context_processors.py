"""Navigation of the workspace: each entry shows only to users holding its permission."""

from __future__ import annotations

NAV = [
    ("Dashboard", "/", "reports.view_dashboard"),
    ("Customers", "/customers/", "customers.view"),
    ("Tasks", "/tasks/", "pipelines.manage_tasks"),
    ("Activity", "/activity/", "customers.view"),
    ("Imports", "/imports/", "customers.import"),
    ("Approvals", "/approvals/", "finance.approve_transactions"),
    ("KYC review", "/kyc/", "pipelines.change_kyc_status"),
    ("Templates", "/templates/", "communications.view_templates"),
]


def navigation(request):
    user = getattr(request, "user", None)
    if not user or not user.is_authenticated or not hasattr(user, "holds"):
        return {"nav": []}
    return {"nav": [{"label": label, "url": url} for label, url, code in NAV if user.holds(code)]}
