"""The ledger's endpoints in the customers' own realm (`/api/customer/`), mounted by brokercrm.urls."""

from django.urls import path

from . import views

urlpatterns = [
    path("deposits", views.CustomerDepositView.as_view(), name="customer-deposits"),
    path("withdrawals", views.CustomerWithdrawalView.as_view(), name="customer-withdrawals"),
    path("withdrawals/<int:pk>/cancel", views.CustomerWithdrawalCancelView.as_view(),
         name="customer-withdrawal-cancel"),
    path("transactions", views.CustomerTransactionListView.as_view(), name="customer-transactions"),
    path("accounts", views.CustomerAccountOpenView.as_view(), name="customer-accounts-open"),
]
