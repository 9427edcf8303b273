from brokercrm.api.routers import Router

from . import views

router = Router()
router.register("customers", views.CustomerViewSet, basename="crm-customer")

urlpatterns = [*router.urls]
