"""Builder pages: templates list; edit a template per locale with live preview and the SMS counter."""

from __future__ import annotations

from django.http import Http404
from django.views import View
from django.views.generic import TemplateView

from brokercrm.workspace import WorkspaceMixin

from . import placeholders
from .models import EmailTemplate, SmsTemplate, Workflow


class TemplateListView(WorkspaceMixin, TemplateView):
    template_name = "workspace/templates.html"
    required_permission = "communications.view_templates"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["email_templates"] = EmailTemplate.objects.prefetch_related("translations")
        ctx["sms_templates"] = SmsTemplate.objects.prefetch_related("translations")
        ctx["workflows"] = Workflow.objects.prefetch_related("actions")
        ctx["perms_manage_workflows"] = self.request.user.holds("platform.manage_workflows")
        return ctx


class TemplateEditView(WorkspaceMixin, TemplateView):
    template_name = "workspace/template_edit.html"
    required_permission = "communications.view_templates"

    def get_context_data(self, kind: str, pk: int, locale: str, **kwargs):
        ctx = super().get_context_data(**kwargs)
        model = {"email": EmailTemplate, "sms": SmsTemplate}.get(kind)
        template = model.objects.filter(pk=pk).first() if model else None
        if template is None:
            raise Http404
        ctx.update(kind=kind, template=template, locale=locale,
                   translation=template.translations.filter(locale=locale).first(),
                   locales=sorted({t.locale for t in template.translations.all()} | {template.default_locale}),
                   placeholders=placeholders.REGISTRY,
                   can_edit=self.request.user.holds("communications.manage_templates"))
        return ctx


class WorkflowToggleView(WorkspaceMixin, View):
    """Pause or resume a workflow from the workspace (platform.manage_workflows)."""

    required_permission = "platform.manage_workflows"

    def post(self, request, pk: int):
        from django.contrib import messages
        from django.shortcuts import redirect

        from .workflows import triggers_changed

        workflow = Workflow.objects.filter(pk=pk).first()
        if workflow is None:
            raise Http404
        workflow.is_active = not workflow.is_active
        workflow.save(update_fields=["is_active"])
        triggers_changed()
        messages.success(request, f"Workflow '{workflow.name}' {'resumed' if workflow.is_active else 'paused'}.")
        return redirect("template-list")
