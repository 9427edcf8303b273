from django.contrib.auth.views import LogoutView
from django.urls import path

from teams.forms import LoginForm

from . import kyc_views, ops, views

urlpatterns = [
    path("login/", views.StaffLoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("customers/", views.CustomerListView.as_view(), name="customer-list"),
    path("customers/bulk-assign", views.BulkAssignView.as_view(), name="customer-bulk-assign"),
    path("customers/<int:pk>/", views.CustomerDetailView.as_view(), name="customer-detail"),
    path("customers/<int:pk>/activity", views.CustomerActivityView.as_view(), name="customer-activity"),
    path("customers/<int:pk>/<str:verb>", views.CustomerActionView.as_view(), name="customer-action"),
    # Operations of the customer page (crm.ops) and the export of the list.
    path("customers/export", ops.CustomerExportView.as_view(), name="customer-export"),
    path("customers/<int:pk>/ops/transaction", ops.CustomerTransactionView.as_view(), name="customer-transaction"),
    path("customers/<int:pk>/ops/profile", ops.CustomerProfileView.as_view(), name="customer-profile"),
    path("customers/<int:pk>/ops/assign", ops.CustomerAssignView.as_view(), name="customer-assign"),
    path("customers/<int:pk>/ops/send", ops.CustomerSendView.as_view(), name="customer-send"),
    path("tasks/", views.TaskListView.as_view(), name="task-list"),
    path("activity/", views.ActivityFeedPageView.as_view(), name="activity-feed"),
    path("notifications/read", views.NotificationsReadView.as_view(), name="notifications-read"),
    path("kyc/", kyc_views.KycQueueView.as_view(), name="kyc-queue"),
    path("kyc/customers/<int:pk>/upload", kyc_views.KycUploadView.as_view(), name="kyc-upload"),
    path("kyc/documents/<int:pk>/file", kyc_views.KycDocumentFilePageView.as_view(), name="kyc-document-file-page"),
    path("kyc/documents/<int:pk>/<str:verb>", kyc_views.KycDocumentActionView.as_view(), name="kyc-document-action"),
]
