from django.urls import path

from . import views

urlpatterns = [
    path("register", views.RegisterView.as_view(), name="customer-register"),
    path("autologin/<str:token>", views.AutologinView.as_view(), name="customer-autologin"),
    path("heartbeat", views.HeartbeatView.as_view(), name="customer-heartbeat"),
]


def _ledger_urls():
    # The deposit endpoint lives with the ledger; it is mounted here because its path is the customer realm's.
    from ledger.api.views import (
        CustomerDepositView,
        CustomerTransactionListView,
        CustomerWithdrawalCancelView,
        CustomerWithdrawalView,
    )

    return [path("deposits", CustomerDepositView.as_view(), name="customer-deposits"),
            path("withdrawals", CustomerWithdrawalView.as_view(), name="customer-withdrawals"),
            path("withdrawals/<int:pk>/cancel", CustomerWithdrawalCancelView.as_view(),
                 name="customer-withdrawal-cancel"),
            path("transactions", CustomerTransactionListView.as_view(), name="customer-transactions")]


urlpatterns += _ledger_urls()
