"""The client area (customers' realm) and the administration pages of registration."""

from django.urls import path

from . import views

urlpatterns = [
    path("client/", views.client_home, name="client-home"),
    path("client/login/", views.client_login, name="client-login"),
    path("client/logout/", views.client_logout, name="client-logout"),
    path("client/documents/upload", views.client_document_upload, name="client-documents-upload"),
    # Administration (issue #14): the same serializers and audited saves as /api/platform/promo-codes,
    # fraud-settings and registration-paths.
    path("administration/promo-codes/", views.PromoCodeListView.as_view(), name="admin-promo-codes"),
    path("administration/promo-codes/<int:pk>/", views.PromoCodeDetailView.as_view(), name="admin-promo-code"),
    path("administration/fraud/", views.FraudSettingsPageView.as_view(), name="admin-fraud"),
]
