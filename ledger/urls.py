from django.urls import path

from . import views

urlpatterns = [
    path("approvals/", views.ApprovalQueueView.as_view(), name="approvals"),
    path("approvals/<int:pk>/<str:verb>", views.ApprovalActionView.as_view(), name="approval-action"),
    path("transactions/<int:pk>/<str:verb>", views.TransactionActionView.as_view(), name="transaction-action"),
    path("payments/sandbox/<str:order_id>", views.sandbox_cashier, name="sandbox-cashier"),
]
