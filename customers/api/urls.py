from django.urls import path

from . import views

urlpatterns = [
    path("register", views.RegisterView.as_view(), name="customer-register"),
    path("autologin/<str:token>", views.AutologinView.as_view(), name="customer-autologin"),
    path("heartbeat", views.HeartbeatView.as_view(), name="customer-heartbeat"),
]
