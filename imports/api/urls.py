from django.urls import path

from . import views

urlpatterns = [
    path("customers/import", views.ImportView.as_view(), name="import-create"),
    path("customers/import/<uuid:job_id>/status", views.ImportStatusView.as_view(), name="import-status"),
    path("customers/import/<uuid:job_id>/cancel", views.ImportCancelView.as_view(), name="import-cancel"),
    path("customers/import/<uuid:job_id>/rejections", views.ImportRejectionsView.as_view(), name="import-rejections"),
]
