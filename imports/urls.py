from django.urls import path

from . import views

urlpatterns = [
    path("imports/", views.ImportListView.as_view(), name="import-list"),
    path("imports/<uuid:job_id>/", views.ImportDetailView.as_view(), name="import-detail"),
]
