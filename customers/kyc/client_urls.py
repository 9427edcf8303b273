"""KYC endpoints in the customers' own realm (`/api/customer/`) and the provider webhook (`/api/kyc/`)."""

from django.urls import path

from . import api

urlpatterns = [
    path("documents", api.ClientDocumentsView.as_view(), name="customer-documents"),
    path("kyc/sumsub-token", api.SumsubTokenView.as_view(), name="customer-sumsub-token"),
]
