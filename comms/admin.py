from django.contrib import admin

from customers.models import Customer
from teams import pii
from teams.pii_admin import RedactedAdmin

from .models import (
    EmailTemplate,
    EmailTranslation,
    Message,
    SmsTemplate,
    SmsTranslation,
    Workflow,
    WorkflowAction,
    WorkflowRun,
)


class EmailTranslationInline(admin.StackedInline):
    model = EmailTranslation
    extra = 0


class SmsTranslationInline(admin.StackedInline):
    model = SmsTranslation
    extra = 0


@admin.register(EmailTemplate)
class EmailTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "default_locale"]
    inlines = [EmailTranslationInline]


@admin.register(SmsTemplate)
class SmsTemplateAdmin(admin.ModelAdmin):
    list_display = ["name", "category", "default_locale"]
    inlines = [SmsTranslationInline]


class ActionInline(admin.TabularInline):
    model = WorkflowAction
    extra = 0


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["name", "trigger", "is_active"]
    inlines = [ActionInline]


@admin.register(WorkflowRun)
class WorkflowRunAdmin(RedactedAdmin):
    list_display = ["created_at", "workflow", "event", "customer_id", "status", "attempts"]
    redacted_fields = ("log",)
    list_select_related = ["customer"]


@admin.register(Message)
class MessageAdmin(RedactedAdmin):
    exclude = ["recipient", "body", "body_html"]
    redacted_fields = ("subject", "error")
    list_select_related = ["customer"]

    def get_queryset(self, request):
        return super().get_queryset(request).filter(customer__in=Customer.objects.visible_to(request.user))

    def get_list_display(self, request):
        def recipient(obj):
            show = pii.show_email if obj.channel == "email" else pii.show_phone
            return show(obj.recipient, request.user)

        return ["created_at", "channel", "template_name", recipient, self._redacted(request)["subject"], "status"]
