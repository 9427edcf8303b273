from django.urls import path

from . import views

urlpatterns = [
    path("login/verify/", views.VerifyView.as_view(), name="login-verify"),
    path("account/2fa/", views.EnrolView.as_view(), name="account-2fa"),
    path("account/profile/", views.ProfileView.as_view(), name="account-profile"),
]
