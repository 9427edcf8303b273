"""The client area (customers' realm)."""

from django.urls import path

from . import views

urlpatterns = [
    path("client/", views.client_home, name="client-home"),
    path("client/login/", views.client_login, name="client-login"),
    path("client/logout/", views.client_logout, name="client-logout"),
    path("client/documents/upload", views.client_document_upload, name="client-documents-upload"),
]
