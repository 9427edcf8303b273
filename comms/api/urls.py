from django.urls import path, re_path

from brokercrm.api.routers import Router

from . import views

router = Router()
router.register("email-templates", views.EmailTemplateViewSet, basename="email-template")
router.register("sms-templates", views.SmsTemplateViewSet, basename="sms-template")
router.register("workflows", views.WorkflowViewSet, basename="workflow")

urlpatterns = [
    path("sms/analyze", views.SmsAnalyzeView.as_view(), name="sms-analyze"),
    path("placeholders", views.PlaceholderListView.as_view(), name="placeholders"),
    path("customers/<int:customer_id>/communications", views.CustomerCommunicationsView.as_view(),
         name="customer-communications"),
    re_path(r"^(?P<channel>sms|email)/callbacks$", views.DeliveryCallbackView.as_view(), name="delivery-callback"),
    *router.urls,
]
