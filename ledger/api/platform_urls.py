from brokercrm.api.routers import Router

from . import views

router = Router()
router.register("fx-rates", views.FxRateViewSet, basename="fx-rate")
router.register("payment-routes", views.PaymentRouteViewSet, basename="payment-route")

urlpatterns = [*router.urls]
