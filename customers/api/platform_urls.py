from django.urls import path

from brokercrm.api.routers import Router

from . import platform

router = Router()
router.register("customer-groups", platform.GroupViewSet, basename="customer-group")
router.register("promo-codes", platform.PromoCodeViewSet, basename="promo-code")
router.register("registration-paths", platform.RegistrationPathViewSet, basename="registration-path")
router.register("affiliates", platform.AffiliateViewSet, basename="affiliate")

urlpatterns = [path("fraud-settings", platform.FraudSettingsView.as_view(), name="fraud-settings"), *router.urls]
