"""URL map. The API's prefixes are fixed by API.md; each app mounts its own modules under them."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularSwaggerSplitView

from . import views
from .api.schema_view import SchemaView

api = [
    path("health", views.HealthView.as_view(), name="health"),
    # Staff token auth (teams).
    path("auth/", include("teams.api.auth_urls")),
    path("schema/", SchemaView.as_view(), name="schema"),
    # The split view serves its init script as a file (no inline script: see CONTENT_SECURITY_POLICY).
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema", template_name="api/swagger_ui.html"),
         name="docs"),
    # Customers' own realm (registration, autologin, heartbeat, deposits).
    path("customer/", include("customers.api.urls")),
    path("customer/", include("ledger.api.customer_urls")),
    path("customer/", include("customers.kyc.client_urls")),
    # Agent workspace API.
    path("crm/", include("customers.kyc.crm_urls")),
    path("crm/", include("crm.api.urls")),
    # Platform administration: each app serves its own resources under /api/platform/.
    path("platform/", include("teams.api.urls")),
    path("platform/", include("customers.api.platform_urls")),
    path("platform/", include("ledger.api.platform_urls")),
    path("platform/", include("comms.api.urls")),
    # Back office.
    path("backoffice/", include("customers.api.backoffice_urls")),
    path("backoffice/", include("ledger.api.urls")),
    path("backoffice/", include("imports.api.urls")),
    # Payment provider callbacks.
    path("payments/", include("ledger.api.payments_urls")),
    # Verification provider callbacks (KYC).
    path("kyc/", include("customers.kyc.webhook_urls")),
]

# SuspiciousOperation (TooManyFieldsSent, DisallowedHost, …) raised outside a view: the API body or the error page.
handler400 = "brokercrm.middleware.bad_request"
# 403/404/500 outside the API: the workspace layout (signed-in staff) or a plain branded page (#14).
handler403 = "brokercrm.middleware.permission_denied"
handler404 = "brokercrm.middleware.page_not_found"
handler500 = "brokercrm.middleware.server_error"

urlpatterns = [
    path("api/", include(api)),
    path("admin/", admin.site.urls),
    path("", include("teams.urls")),
    path("", include("crm.urls")),
    path("", include("customers.urls")),
    path("", include("ledger.urls")),
    path("", include("imports.urls")),
    path("", include("comms.urls")),
]
