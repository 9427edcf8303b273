from django.contrib.auth.views import LogoutView
from django.urls import path

from . import views
from .forms import LoginForm

urlpatterns = [
    path("login/", views.StaffLoginView.as_view(authentication_form=LoginForm), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("", views.DashboardView.as_view(), name="dashboard"),
    path("customers/", views.CustomerListView.as_view(), name="customer-list"),
    path("customers/<int:pk>/", views.CustomerDetailView.as_view(), name="customer-detail"),
]
