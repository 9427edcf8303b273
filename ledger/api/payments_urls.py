from django.urls import path

from . import views

urlpatterns = [path("webhooks/<str:provider>", views.provider_webhook, name="payment-webhook")]
