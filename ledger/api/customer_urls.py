"""The ledger's endpoint in the customers' own realm (`/api/customer/`), mounted by brokercrm.urls."""

from django.urls import path

from . import views

urlpatterns = [
    path("deposits", views.CustomerDepositView.as_view(), name="customer-deposits"),
]
