from django.urls import path

from . import views

urlpatterns = [
    path("templates/", views.TemplateListView.as_view(), name="template-list"),
    path("templates/<str:kind>/<int:pk>/<str:locale>/", views.TemplateEditView.as_view(), name="template-edit"),
    path("workflows/<int:pk>/toggle", views.WorkflowToggleView.as_view(), name="workflow-toggle"),
]
