from django.urls import path

from . import stream_views

urlpatterns = [
    path("accounts/<int:login>", stream_views.AccountView.as_view(), name="crm-account"),
    path("accounts/<int:login>/platform/retry", stream_views.AccountPlatformRetryView.as_view(),
         name="crm-account-platform-retry"),
    path("accounts/<int:login>/stream", stream_views.account_stream, name="crm-account-stream"),
]
