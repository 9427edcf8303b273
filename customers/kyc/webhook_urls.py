"""Verification provider callbacks (`/api/kyc/`), mounted by brokercrm.urls."""

from django.urls import path

from . import api

urlpatterns = [
    path("webhooks/sumsub", api.SumsubWebhookView.as_view(), name="kyc-webhook-sumsub"),
]
