from django.urls import path

from brokercrm.api.routers import Router

from . import views

router = Router()
router.register("transactions", views.TransactionViewSet, basename="transaction")

urlpatterns = [
    path("approval-rules", views.ApprovalRulesView.as_view(), name="approval-rules"),
    path("customers/<int:customer_id>/unfreeze", views.UnfreezeView.as_view(), name="customer-unfreeze"),
    *router.urls,
]
