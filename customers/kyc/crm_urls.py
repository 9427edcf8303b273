"""KYC endpoints under the workspace API prefix (`/api/crm/`), mounted by brokercrm.urls."""

from django.urls import path

from . import api

urlpatterns = [
    path("customers/<int:pk>/documents", api.CustomerDocumentsView.as_view(), name="kyc-customer-documents"),
    path("documents/<int:pk>/approve", api.DocumentApproveView.as_view(), name="kyc-document-approve"),
    path("documents/<int:pk>/reject", api.DocumentRejectView.as_view(), name="kyc-document-reject"),
    path("documents/<int:pk>/file", api.DocumentFileView.as_view(), name="kyc-document-file"),
    path("documents/<int:pk>/download", api.DocumentDownloadView.as_view(), name="kyc-document-download"),
]
