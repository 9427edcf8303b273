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
    path("platform/", include("teams.api.urls")),
    path("crm/", include("crm.api.urls")),
]

urlpatterns = [
    path("api/", include(api)),
    path("admin/", admin.site.urls),
    path("", include("crm.urls")),
]
