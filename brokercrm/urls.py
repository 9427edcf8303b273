"""URL map. The API's prefixes are fixed by API.md; each app mounts its own modules under them."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

api = [
    path("health", views.HealthView.as_view(), name="health"),
    path("auth/token", views.TokenView.as_view(), name="auth-token"),
    path("auth/token/revoke", views.TokenRevokeView.as_view(), name="auth-token-revoke"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    # Customers' own realm (registration, autologin, heartbeat, deposits).
    path("customer/", include("customers.api.urls")),
    path("customer/", include("ledger.api.customer_urls")),
    # Agent workspace API.
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
]

urlpatterns = [
    path("api/", include(api)),
    path("admin/", admin.site.urls),
    path("", include("crm.urls")),
    path("", include("customers.urls")),
    path("", include("ledger.urls")),
    path("", include("imports.urls")),
    path("", include("comms.urls")),
]
