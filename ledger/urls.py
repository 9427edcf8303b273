from django.urls import path

from . import views

urlpatterns = [
    path("approvals/", views.ApprovalQueueView.as_view(), name="approvals"),
    path("approvals/<int:pk>/<str:verb>", views.ApprovalActionView.as_view(), name="approval-action"),
    path("transactions/<int:pk>/<str:verb>", views.TransactionActionView.as_view(), name="transaction-action"),
    path("payments/sandbox/<str:order_id>", views.sandbox_cashier, name="sandbox-cashier"),
    # Administration (issue #14): the same serializers and services as /api/platform/payment-routes, fx-rates and
    # /api/backoffice/approval-rules.
    path("administration/payment-routes/", views.PaymentRoutesView.as_view(), name="admin-payment-routes"),
    path("administration/fx-rates/", views.FxRatesView.as_view(), name="admin-fx-rates"),
    path("administration/approval-rules/", views.ApprovalRulesPageView.as_view(), name="admin-approval-rules"),
]
