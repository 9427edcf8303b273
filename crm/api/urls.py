from django.urls import include, path

from brokercrm.api.routers import Router

from . import views

router = Router()
router.register("customers", views.CustomerViewSet, basename="crm-customer")

urlpatterns = [
    # Trading accounts and their live SSE stream (crm.api.stream_urls).
    path("", include("crm.api.stream_urls")),
    *router.urls,
]
