"""Staff token auth under `/api/auth/` (brokercrm/urls.py mounts it with `include("teams.api.auth_urls")`)."""

from django.urls import path

from . import token_views

urlpatterns = [
    path("token", token_views.TokenView.as_view(), name="auth-token"),
    path("token/revoke", token_views.TokenRevokeView.as_view(), name="auth-token-revoke"),
    path("tokens", token_views.TokenListView.as_view(), name="auth-tokens"),
    path("tokens/<int:id>", token_views.TokenDetailView.as_view(), name="auth-token-detail"),
]
