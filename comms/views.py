"""Builder pages: the templates list; a template per locale with the server's preview and the SMS counter; adding
templates and locales; workflows created, edited, paused or resumed, and run for a customer."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import TemplateView
from rest_framework.exceptions import ValidationError

from brokercrm.adminpages import refused
from brokercrm.api.errors import domain_error_json
from brokercrm.errors import DomainError, NotFound
from brokercrm.inputs import parse_id
from brokercrm.workspace import WorkspaceMixin
from customers.models import Source
from teams import pii
from teams.models import Team, User

from . import placeholders, selectors, services
from .api.serializers import WorkflowSerializer
from .models import Category, EmailTemplate, SmsTemplate, Workflow
from .workflows import workflow_run_now

MODELS = {"email": EmailTemplate, "sms": SmsTemplate}
# How the builder names the triggers (API codes unchanged).
TRIGGER_LABELS = {
    "customer.registered": "A customer registers",
    "status.changed": "A pipeline status changes",
    "transaction.completed": "A transaction completes",
    "retention.changed": "The retention class changes",
    "import.completed": "An import completes",
    "customer.frozen": "A customer is frozen",
}
ACTION_LABELS = {"send_email": "Send an email", "send_sms": "Send an SMS", "assign": "Assign to agents",
                 "create_task": "Create a task"}
STEP_SLOTS = 4


def _picker(user):
    """Customers for the preview picker: the viewer's visible ones, their email as the viewer may see it."""
    rows = selectors.customer_picker(user=user)
    return [{"id": c.pk, "label": f"{c.first_name} {c.last_name} · {pii.show_email(c.email, user) or 'no email shown'}"
             f" · {c.locale or '—'}"} for c in rows]


class TemplateListView(WorkspaceMixin, TemplateView):
    template_name = "workspace/templates.html"
    required_permission = "communications.view_templates"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["email_templates"] = selectors.template_list(kind="email")
        ctx["sms_templates"] = selectors.template_list(kind="sms")
        ctx["workflows"] = selectors.workflow_list()
        ctx["perms_manage_workflows"] = self.request.user.holds("platform.manage_workflows")
        ctx["can_manage_templates"] = self.request.user.holds("communications.manage_templates")
        ctx["categories"] = Category.values
        ctx.setdefault("values", {})
        ctx.setdefault("errors", {})
        return ctx


class TemplateCreateView(WorkspaceMixin, View):
    """Add an email or SMS template (communications.manage_templates); then its first locale is written."""

    required_permission = "communications.manage_templates"

    def post(self, request):
        post = request.POST
        kind = post.get("kind", "")
        try:
            if kind not in MODELS:
                raise services.CommsError("Invalid input.", fields={"kind": ["Choose email or SMS."]})
            name = post.get("name", "").strip()
            if not name:
                raise services.CommsError("Invalid input.", fields={"name": ["Give the template a name."]})
            template = services.template_create(kind=kind, name=name[:120], category=post.get("category", ""),
                                                default_locale=post.get("default_locale", "").strip() or "en",
                                                by=request.user)
        except services.CommsError as error:
            view = TemplateListView(request=request, kwargs={})
            ctx = view.get_context_data()
            return refused(request, "workspace/templates.html", {**ctx, "values": post}, error)
        messages.success(request, f"Template “{template.name}” created: write its {template.default_locale} text "
                                  "and save it.")
        return redirect("template-edit", kind=kind, pk=template.pk, locale=template.default_locale)


class TemplateEditView(WorkspaceMixin, TemplateView):
    template_name = "workspace/template_edit.html"
    required_permission = "communications.view_templates"

    def get_context_data(self, kind: str, pk: int, locale: str, **kwargs):
        ctx = super().get_context_data(**kwargs)
        template = selectors.template_get(kind=kind, template_id=pk)
        if template is None:
            raise Http404
        translation = selectors.translation_get(template=template, locale=locale)
        saved = sorted({t.locale for t in template.translations.all()})
        from .direction import is_rtl_locale

        ctx.update(kind=kind, template=template, locale=locale, translation=translation, saved_locales=saved,
                   locales=sorted(set(saved) | {template.default_locale, locale}),
                   placeholders=placeholders.REGISTRY, customers=_picker(self.request.user),
                   locale_dir="rtl" if is_rtl_locale(locale) else "auto",
                   can_edit=self.request.user.holds("communications.manage_templates"))
        return ctx


class TemplatePreviewView(WorkspaceMixin, View):
    """POST the builder's unsaved texts (and optionally a customer): the server renders them exactly as a send
    would (comms.services.preview → the send path's renderer), with the direction and, for SMS, the segments."""

    required_permission = "communications.view_templates"

    def post(self, request, kind: str, pk: int, locale: str):
        template = selectors.template_get(kind=kind, template_id=pk)
        if template is None:
            raise Http404
        fields = ("subject", "body_html", "body_text") if kind == "email" else ("body",)
        texts = {f: request.POST.get(f, "")[:20000] for f in fields}
        customer = None
        raw = request.POST.get("customer_id", "")
        try:
            if raw:
                customer = selectors.customer_get(user=request.user, customer_id=parse_id(raw))
                if customer is None:
                    raise NotFound("No such customer.")
            result = services.preview(template=template, locale=locale, viewer=request.user, customer=customer,
                                      texts=texts)
        except DomainError as error:  # the API.md body, as the API would answer
            return domain_error_json(error)
        return JsonResponse(result)


class TemplateLocaleAddView(WorkspaceMixin, View):
    """Add a locale to a template: checks the code (en, pt-BR, ar) and opens its empty translation."""

    required_permission = "communications.manage_templates"

    def post(self, request, kind: str, pk: int):
        template = selectors.template_get(kind=kind, template_id=pk)
        if template is None:
            raise Http404
        try:
            locale = services.locale_normalize(request.POST.get("locale", "").strip())
        except services.CommsError:
            messages.error(request, "A locale is a language code with an optional region, such as en, pt-BR or ar.")
            return redirect("template-edit", kind=kind, pk=pk, locale=template.default_locale)
        if selectors.translation_get(template=template, locale=locale) is not None:
            messages.info(request, f"The {locale} translation exists already: here it is.")
        else:
            messages.success(request, f"Locale {locale} added: write its text and save it.")
        return redirect("template-edit", kind=kind, pk=pk, locale=locale)


# --- workflows ----------------------------------------------------------------------------------------------------


def _workflow_values(workflow: Workflow | None) -> dict:
    if workflow is None:
        return {"name": "", "trigger": "customer.registered", "is_active": True, "conditions": {}, "steps": []}
    return {"name": workflow.name, "trigger": workflow.trigger, "is_active": workflow.is_active,
            "conditions": workflow.conditions or {},
            "steps": [{"kind": a.kind, **(a.params or {})} for a in workflow.actions.all()]}


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.replace(",", " ").split() if part.strip()]


def _workflow_data(post) -> tuple[dict, dict]:
    """The API payload (WorkflowSerializer) and the values to show again, from the builder's form."""
    conditions: dict = {}
    for key in ("country", "group", "to", "type"):
        values = _csv(post.get(f"cond_{key}", ""))
        if values:
            conditions[key] = [v.upper() for v in values] if key == "country" else values
    sources = post.getlist("cond_sources")
    if sources:
        conditions["sources"] = sources
    if post.get("cond_pipeline"):
        conditions["pipeline"] = [post["cond_pipeline"]]
    for key in ("min_amount_usd", "max_amount_usd"):
        if post.get(f"cond_{key}", "").strip():
            conditions[key] = post[f"cond_{key}"].strip()
    actions, steps = [], []
    for i in range(STEP_SLOTS):
        kind = post.get(f"step{i}_kind", "")
        step = {"kind": kind, "template": post.get(f"step{i}_template_{'sms' if kind == 'send_sms' else 'email'}", ""),
                "agent_ids": [parse_id(v) for v in post.getlist(f"step{i}_agents") if parse_id(v)],
                "title": post.get(f"step{i}_title", "").strip(), "team": post.get(f"step{i}_team", ""),
                "due_in_hours": post.get(f"step{i}_due", "").strip()}
        steps.append(step)
        if not kind:
            continue
        if kind in ("send_email", "send_sms"):
            params = {"template": step["template"]}
        elif kind == "assign":
            params = {"agent_ids": step["agent_ids"]}
        else:
            params = {"title": step["title"] or "Follow up"}
            if step["team"]:
                params["team"] = step["team"]
            if step["due_in_hours"]:
                params["due_in_hours"] = int(step["due_in_hours"]) if step["due_in_hours"].isdigit() else -1
        actions.append({"position": len(actions) + 1, "kind": kind, "params": params})
    payload = {"name": post.get("name", "").strip(), "trigger": post.get("trigger", ""),
               "is_active": post.get("is_active") == "on", "conditions": conditions, "actions": actions}
    return payload, {**payload, "steps": steps}


def _step_problems(payload) -> dict[str, list[str]]:
    """What the serializer leaves to run time but a builder can say before saving: an assign step without agents,
    a task due in a negative or unparsable number of hours."""
    problems = []
    for a in payload["actions"]:
        if a["kind"] == "assign" and not a["params"]["agent_ids"]:
            problems.append(f"Step {a['position']}: choose at least one agent to assign to.")
        if a["kind"] == "create_task" and a["params"].get("due_in_hours", 0) < 0:
            problems.append(f"Step {a['position']}: the task is due in a whole number of hours.")
    if not payload["actions"]:
        problems.append("Add at least one step.")
    return {"actions": problems} if problems else {}


class WorkflowEditView(WorkspaceMixin, View):
    """Create (no pk) or edit a workflow: trigger, conditions, ordered steps and their owners (the agents an
    assign step uses, the team queue of a task when the customer has no agent). Saved through the platform API's
    WorkflowSerializer (same validation); the page also runs it for one customer and shows the last runs."""

    required_permission = "platform.manage_workflows"
    template_name = "workspace/workflow_edit.html"

    def context(self, request, workflow, values, **extra):
        steps = list(values.get("steps", []))
        steps += [{"kind": ""}] * (STEP_SLOTS - len(steps))
        runs = []
        if workflow is not None:
            for run in selectors.workflow_runs(workflow=workflow, limit=10):
                run.shown_log = pii.redact_data(run.log, request.user, run.customer)
                runs.append(run)
        return {"workflow": workflow, "values": values, "steps": steps[:STEP_SLOTS], "errors": {},
                "triggers": TRIGGER_LABELS, "action_labels": ACTION_LABELS, "sources": Source.values,
                "email_templates": EmailTemplate.objects.all(), "sms_templates": SmsTemplate.objects.all(),
                "agents": User.objects.filter(is_active=True).exclude(role=None).order_by("email"),
                "teams": Team.objects.all(), "customers": _picker(request.user), "runs": runs, **extra}

    def _workflow(self, pk):
        if pk is None:
            return None
        workflow = selectors.workflow_get(workflow_id=pk)
        if workflow is None:
            raise Http404
        return workflow

    def get(self, request, pk: int | None = None):
        workflow = self._workflow(pk)
        return render(request, self.template_name, self.context(request, workflow, _workflow_values(workflow)))

    def post(self, request, pk: int | None = None):
        workflow = self._workflow(pk)
        payload, shown = _workflow_data(request.POST)
        serializer = WorkflowSerializer(workflow, data=payload)
        try:
            problems = _step_problems(payload)
            serializer.is_valid(raise_exception=True)
            if problems:
                raise ValidationError(problems)
            if workflow is None:
                workflow = services.workflow_create(data=serializer.validated_data, by=request.user)
            else:
                workflow = services.workflow_update(workflow=workflow, data=serializer.validated_data, by=request.user)
        except ValidationError as error:
            return refused(request, self.template_name, self.context(request, workflow, shown), error)
        messages.success(request, f"Workflow “{workflow.name}” saved: {len(payload['actions'])} step"
                                  f"{'s' if len(payload['actions']) != 1 else ''}, "
                                  f"{'active' if workflow.is_active else 'paused'}.")
        return redirect("workflow-edit", pk=workflow.pk)


class WorkflowRunView(WorkspaceMixin, View):
    """Run a workflow now for one visible customer (its conditions are checked as for an event)."""

    required_permission = "platform.manage_workflows"

    def post(self, request, pk: int):
        workflow = selectors.workflow_get(workflow_id=pk)
        if workflow is None:
            raise Http404
        customer = selectors.customer_get(user=request.user, customer_id=parse_id(request.POST.get("customer_id")))
        if customer is None:
            messages.error(request, "Choose a customer to run the workflow for.")
            return redirect("workflow-edit", pk=pk)
        run = workflow_run_now(workflow=workflow, customer=customer, by=request.user)
        if run.status == run.Status.SUCCEEDED:
            messages.success(request, f"Run #{run.pk} for {customer.first_name} {customer.last_name}: "
                                      f"all {len(run.done_actions)} step(s) done.")
        elif run.status == run.Status.SKIPPED:
            messages.info(request, f"Run #{run.pk} skipped: the conditions do not hold for this customer "
                                   f"({pii.redact_for(run.log[-1].get('skipped', ''), request.user, customer)}).")
        else:
            messages.error(request, f"Run #{run.pk} stopped at a failing step; see its log below.")
        return redirect("workflow-edit", pk=pk)


class WorkflowToggleView(WorkspaceMixin, View):
    """Pause or resume a workflow from the workspace (platform.manage_workflows)."""

    required_permission = "platform.manage_workflows"

    def post(self, request, pk: int):
        workflow = selectors.workflow_get(workflow_id=pk)
        if workflow is None:
            raise Http404
        workflow = services.workflow_active_set(workflow=workflow, is_active=not workflow.is_active, by=request.user)
        messages.success(request, f"Workflow “{workflow.name}” {'resumed' if workflow.is_active else 'paused'}.")
        target = request.POST.get("next", "")
        return redirect("workflow-edit", pk=pk) if target == "edit" else redirect("template-list")


