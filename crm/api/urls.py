from django.urls import include, path

from brokercrm.api.routers import Router

from . import views

router = Router()
router.register("customers", views.CrmCustomerViewSet, basename="crm-customer")
router.register("notes", views.NoteViewSet, basename="crm-note")
router.register("tasks", views.TaskViewSet, basename="crm-task")

urlpatterns = [
    path("activity", views.ActivityFeedView.as_view(), name="crm-activity"),
    # Trading accounts and their live SSE stream (crm.api.stream_urls).
    path("", include("crm.api.stream_urls")),
    *router.urls,
]
