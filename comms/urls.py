from django.urls import path

from . import views

urlpatterns = [
    path("templates/", views.TemplateListView.as_view(), name="template-list"),
    path("templates/new", views.TemplateCreateView.as_view(), name="template-create"),
    path("templates/<str:kind>/<int:pk>/locales", views.TemplateLocaleAddView.as_view(), name="template-locale-add"),
    path("templates/<str:kind>/<int:pk>/<str:locale>/", views.TemplateEditView.as_view(), name="template-edit"),
    path("templates/<str:kind>/<int:pk>/<str:locale>/preview", views.TemplatePreviewView.as_view(),
         name="template-preview"),
    path("workflows/new", views.WorkflowEditView.as_view(), name="workflow-new"),
    path("workflows/<int:pk>/", views.WorkflowEditView.as_view(), name="workflow-edit"),
    path("workflows/<int:pk>/run", views.WorkflowRunView.as_view(), name="workflow-run"),
    path("workflows/<int:pk>/toggle", views.WorkflowToggleView.as_view(), name="workflow-toggle"),
]
