"""The agent workspace: server-rendered pages in the admin style. Every query starts from visible_to(user)."""

from __future__ import annotations

from datetime import datetime
from datetime import time as dtime

from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Sum
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone
from django.views import View
from django.views.generic import DetailView, ListView, TemplateView

from brokercrm.context_processors import NAV, nav_allows
from brokercrm.errors import DomainError
from brokercrm.errors import PermissionDenied as NotPermitted
from brokercrm.inputs import parse_id, parse_ids, require_id
from brokercrm.labels import label
from brokercrm.lists import list_page
from brokercrm.middleware import error_page
from brokercrm.workspace import WorkspaceMixin
from comms.models import Message
from customers import selectors as customer_selectors
from customers import services as customer_services
from customers.exports import export_allowed
from customers.kyc.selectors import kyc_panel
from customers.models import Activity, Customer, CustomerGroup, RetentionClass
from customers.pipelines import PIPELINES
from customers.presence import presence_online
from customers.scoping import ScopedViewMixin
from ledger.models import TradingAccount, Transaction
from ledger.services import customer_unfreeze
from teams.models import Team, subtree_q
from teams.selectors import team_paths_for, teams_visible_to, users_assignable_by

from . import services
from .models import Note, Task
from .ops import form_error_page
from .selectors import notifications_unread, sees_all_tasks


class StaffLoginView(auth_views.LoginView):
    template_name = "workspace/login.html"
    redirect_authenticated_user = True


def _bars(counts: dict[str, int]) -> list[dict]:
    top = max(counts.values() or [1]) or 1
    return [{"label": k, "count": v, "pct": round(v * 100 / top)} for k, v in counts.items()]


class DashboardView(ScopedViewMixin, WorkspaceMixin, TemplateView):
    template_name = "workspace/dashboard.html"
    required_permission = "reports.view_dashboard"

    def dispatch(self, request, *args, **kwargs):
        """Without the dashboard's permission: the first workspace page the user may open (login lands here),
        or 403 when there is none."""
        user = request.user
        if user.is_authenticated and hasattr(user, "holds") and not user.holds(self.required_permission):
            for _label, url, code in NAV:
                if nav_allows(user, code):
                    return redirect(url)
        return super().dispatch(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        visible = self.scoped(Customer)
        ctx["customer_count"] = visible.count()
        ctx["charts"] = []
        for name, spec in PIPELINES.items():
            counts = dict(visible.values_list(spec.field).annotate(n=Count("pk")).order_by())
            ctx["charts"].append({"title": f"{name.upper() if name == 'kyc' else name.title()} pipeline",
                                  "bars": _bars({s: counts.get(s, 0) for s in spec.statuses.values})})
        retention = dict(visible.values_list("retention_class").annotate(n=Count("pk")).order_by())
        ctx["charts"].append({"title": "Retention", "bars": _bars({c: retention.get(c, 0)
                                                                   for c in RetentionClass.values})})
        start = timezone.make_aware(datetime.combine(timezone.localdate(), dtime.min))
        deposits = (self.scoped(Transaction).filter(type="deposit", status="completed", completed_at__gte=start)
                    .values("currency").annotate(total=Sum("amount"), n=Count("pk")).order_by("currency"))
        ctx["deposits_today"] = list(deposits)
        ctx["overdue_tasks"] = self.scoped(Task).overdue().count()
        return ctx


class CustomerListView(WorkspaceMixin, TemplateView):
    """Visible customers: filters validated by crm.lists.CustomerFilterForm (an invalid one is shown, 400), sortable
    columns, a total count, a page size; select-all on the page for the round-robin bulk assignment."""

    template_name = "workspace/customer_list.html"
    required_permission = "customers.view"

    def get(self, request, *args, **kwargs):
        from .lists import CUSTOMER_LIST, CustomerFilterForm

        user = request.user
        sees_all = user.is_superuser or getattr(user.role, "customer_view_scope", None) == "all"

        teams = (Team.objects.all() if sees_all
                 else Team.objects.filter(subtree_q(team_paths_for(user=user), via=""))).order_by("path")
        agents = list(users_assignable_by(user=user)) if user.holds("customers.assign") else []
        form = CustomerFilterForm(request.GET, agents=agents, teams=teams,
                                  groups=CustomerGroup.objects.order_by("name"))
        ctx = self.get_context_data(**kwargs)
        ctx.update(form=form, filtered=any(request.GET.get(name) for name in form.fields))
        if form.is_valid():
            ctx.update(list_page(request, form.apply(user=user, request=request), CUSTOMER_LIST))
        else:
            ctx.update(list_page(request, Customer.objects.none(), CUSTOMER_LIST))
        ctx["customers"] = ctx["rows"]
        ctx["online"] = presence_online(c.pk for c in ctx["rows"])
        ctx["bulk_agents"] = list(users_assignable_by(user=user)) if user.holds("customers.bulk_assign") else []
        ctx["can_export"] = _can_export(user)
        status = 400 if (form.errors or ctx["list_errors"]) else 200
        return self.render_to_response(ctx, status=status)


def _can_export(user) -> bool:
    return user.holds("reports.export_customers") and export_allowed(user)


class BulkAssignView(WorkspaceMixin, View):
    required_permission = "customers.bulk_assign"

    def post(self, request):
        from django.utils.http import url_has_allowed_host_and_scheme

        target = request.POST.get("next", "")
        if not target or not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "customer-list"
        customer_ids = parse_ids(request.POST.getlist("customer_ids"))
        agent_ids = parse_ids(request.POST.getlist("agent_ids"))
        if customer_ids is None or agent_ids is None:
            messages.error(request, "The selection was not understood; choose the customers and agents again.")
        elif not customer_ids and not agent_ids:
            messages.error(request, "Choose at least one customer and at least one agent.")
        elif not customer_ids:
            messages.error(request, "Choose at least one customer (tick the boxes in the list).")
        elif not agent_ids:
            messages.error(request, "Choose at least one agent to assign to.")
        else:
            try:
                counts = services.customers_bulk_assign(customer_ids=customer_ids, agent_ids=agent_ids,
                                                        by=request.user)
                total = sum(counts.values())
                messages.success(request, f"Assigned {total} customer{'s' if total != 1 else ''} over "
                                          f"{len(counts)} agent{'s' if len(counts) != 1 else ''}.")
            except DomainError as error:
                messages.error(request, error.detail)
        return redirect(target)


class CustomerDetailView(ScopedViewMixin, WorkspaceMixin, DetailView):
    template_name = "workspace/customer_detail.html"
    required_permission = "customers.view"
    context_object_name = "customer"

    def get_object(self, queryset=None):
        try:
            return customer_selectors.customer_get(user=self.request.user, customer_id=self.kwargs["pk"])
        except Customer.DoesNotExist:
            raise Http404("No such customer.") from None

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        customer = self.object
        ctx["online"] = customer.pk in presence_online([customer.pk])
        from django.urls import reverse

        ctx.update(activity_page(customer.activities.all(), before=None,
                                 more_url=reverse("customer-activity", args=[customer.pk])))
        ctx["can_tasks"] = self.request.user.holds("pipelines.manage_tasks")
        ctx["can_notes"] = self.request.user.holds("pipelines.manage_notes")
        ctx["pipelines"] = [{"name": name, "current": customer.status_of(name),
                             "targets": spec.allowed_targets(customer.status_of(name)),
                             "allowed": self.request.user.holds(spec.permission)}
                            for name, spec in PIPELINES.items()]
        for p in ctx["pipelines"]:
            if p["name"] == "finance" and p["current"] == "frozen":
                # Leaving `frozen` is the reasoned, audited unfreeze, never a plain button.
                p["targets"] = [t for t in p["targets"] if t == "frozen"]
                p["unfreeze"] = p["allowed"]
        ctx["notes"] = customer.notes.select_related("author").prefetch_related("revisions__author")
        ctx["tasks"] = customer.tasks.select_related("assignee").order_by("status", "due_at")[:20]

        ctx["communications"] = self.scoped(Message).filter(customer=customer)[:20]
        ctx["transactions"] = (self.scoped(Transaction).filter(customer=customer)
                               .select_related("account", "customer")[:20]
                               if self.request.user.holds("finance.view_transactions") else None)
        ctx["now"] = timezone.now()
        from .trading import bridge

        ctx["platform_enabled"] = bridge.enabled()
        ctx["accounts"] = [(a, bridge.sync_state(a)) for a in customer.accounts.all()]
        ctx["can_retry_platform"] = (self.request.user.holds("customers.edit") and
                                     self.scoped(Customer, edit=True).filter(pk=customer.pk).exists())

        ctx.update(kyc_panel(user=self.request.user, customer=customer))
        ctx.update(_ops_context(self.request.user, customer))
        return ctx


def _ops_context(user, customer) -> dict:
    """What the operation panels of the customer page offer this viewer (templates/workspace/_customer_ops.html)."""
    import uuid

    from .ops import creatable_types, sendable_templates

    editable = Customer.objects.editable_by(user).filter(pk=customer.pk).exists()
    return {
        "tx_types": creatable_types(user) if user.holds("finance.view_transactions") else [],
        "tx_key": uuid.uuid4().hex,
        "can_edit_profile": editable and user.holds("customers.edit"),
        "assign_agents": (list(users_assignable_by(user=user))
                          if editable and user.holds("customers.assign") else []),
        "send_templates": sendable_templates(user) if user.holds("communications.view_templates") else [],
        "task_assignees": list(users_assignable_by(user=user)) if user.holds("pipelines.manage_tasks") else [],
    }


ACTIVITY_PAGE = 20


def activity_page(queryset, *, before: str | None, more_url: str) -> dict:
    """One keyset page of activity, newest first, on (created_at, id); `before` is "<iso time>|<id>" of the last
    row shown. `more_url` + `before=<cursor>` fetches the next page (the "load more" button)."""
    from urllib.parse import urlencode

    from django.db.models import Q

    qs = queryset.select_related("actor", "customer").order_by("-created_at", "-id")
    if before:
        stamp, _, last_id = before.rpartition("|")
        at = datetime.fromisoformat(stamp)
        # `created_at <= at` makes the cursor an index condition (see brokercrm.api.pagination.KeysetPagination).
        qs = qs.filter(Q(created_at__lte=at), Q(created_at__lt=at) | Q(created_at=at, id__lt=int(last_id)))
    rows = list(qs[:ACTIVITY_PAGE + 1])
    more = len(rows) > ACTIVITY_PAGE
    rows = rows[:ACTIVITY_PAGE]
    cursor = f"{rows[-1].created_at.isoformat()}|{rows[-1].pk}" if more else None
    joiner = "&" if "?" in more_url else "?"
    return {"activities": rows, "cursor_given": bool(before),
            "more_url": f"{more_url}{joiner}{urlencode({'before': cursor})}" if cursor else None}


def _bad_cursor():
    from django.http import HttpResponseBadRequest

    return HttpResponseBadRequest("Bad cursor.")


class CustomerActivityView(ScopedViewMixin, WorkspaceMixin, View):
    """The "load more" fragment of the customer page's activity feed (htmx)."""

    required_permission = "customers.view"

    def get(self, request, pk: int):
        from django.shortcuts import render

        customer = self.scoped(Customer).filter(pk=pk).first()
        if customer is None:
            raise Http404
        try:
            ctx = activity_page(customer.activities.all(), before=request.GET.get("before") or None,
                                more_url=request.path)
        except ValueError:
            return _bad_cursor()
        return render(request, "workspace/_activity_items.html", ctx)


class ActivityFeedPageView(ScopedViewMixin, WorkspaceMixin, TemplateView):
    """Everything that happened to the customers in the viewer's scope; `?agent=` one agent's customers, `?team=` a
    team subtree (for leads). The first page renders whole; "load more" fetches the next fragment (htmx)."""

    template_name = "workspace/activity.html"
    required_permission = "customers.view"

    def get(self, request, *args, **kwargs):
        from urllib.parse import urlencode

        from django.shortcuts import render

        user = request.user
        qs = self.scoped(Activity)
        agent, team = request.GET.get("agent", ""), request.GET.get("team", "")
        if (agent and parse_id(agent) is None) or (team and parse_id(team) is None):
            return error_page(request, 400, "The agent and team filters take ids.")
        if agent:
            qs = qs.filter(customer__assigned_to_id=parse_id(agent))
        visible_teams = teams_visible_to(user=user)
        if team:
            found = visible_teams.filter(pk=parse_id(team)).first()
            qs = qs.filter(subtree_q(found.path, via="customer__team")) if found else qs.none()
        filters = {k: v for k, v in (("agent", agent), ("team", team)) if v}
        try:
            ctx = activity_page(qs, before=request.GET.get("before") or None,
                                more_url=f"{request.path}?{urlencode(filters)}" if filters else request.path)
        except ValueError:
            return _bad_cursor()
        ctx["show_customer"] = True
        if request.GET.get("before"):
            return render(request, "workspace/_activity_items.html", ctx)
        ctx.update(self.get_context_data(**kwargs), filters=request.GET, teams=visible_teams.order_by("path"),
                   agents=users_assignable_by(user=user) if user.holds("customers.assign") else [])
        return render(request, self.template_name, ctx)


class CustomerActionView(ScopedViewMixin, WorkspaceMixin, View):
    """The customer page's forms: status transitions, notes (add/edit), tasks (add/complete)."""

    required_permission = "customers.view"

    def post(self, request, pk: int, verb: str):
        customer = self.scoped(Customer).filter(pk=pk).first()
        if customer is None:
            raise Http404
        try:
            if verb == "transition":
                customer_services.customer_transition(customer=customer, pipeline=request.POST["pipeline"],
                                                      to=request.POST["to"], by=request.user)
                messages.success(request, f"{label(request.POST['pipeline'])} status of {customer.full_name} is "
                                          f"now “{label(request.POST['to'])}”.")
            elif verb == "unfreeze":
                try:
                    customer_unfreeze(customer=customer, by=request.user, reason=request.POST.get("reason", ""))
                    messages.success(request, f"{customer.full_name} is unfrozen.")
                except DomainError as error:
                    if error.status in (403, 404):
                        raise PermissionDenied(error.detail) if error.status == 403 else Http404 from None
                    return form_error_page(request, pk, form="unfreeze",
                                           fields=error.fields or {"reason": [error.detail]})
            elif verb == "note":
                services.note_add(customer=customer, body=request.POST.get("body", ""), by=request.user)
                messages.success(request, "Note added.")
            elif verb == "note-edit":
                note = self.scoped(Note).filter(pk=require_id(request.POST["note_id"], "note_id"),
                                                customer=customer).first()
                if note is None:
                    raise Http404
                services.note_edit(note=note, body=request.POST.get("body", ""), by=request.user)
                messages.success(request, "Note saved; the earlier text is kept in its history.")
            elif verb == "task":
                return self._task(request, customer)
            elif verb == "task-done":
                task = self.scoped(Task).filter(pk=require_id(request.POST["task_id"], "task_id"),
                                                customer=customer).first()
                if task is None:
                    raise Http404
                services.task_complete(task=task, by=request.user)
                messages.success(request, "Task done.")
            elif verb == "platform-retry":
                from .trading import bridge

                account = self.scoped(TradingAccount).filter(pk=int(request.POST["account_id"]),
                                                             customer=customer).first()
                if account is None or not bridge.enabled():
                    raise Http404
                if not (request.user.holds("customers.edit")
                        and self.scoped(Customer, edit=True).filter(pk=customer.pk).exists()):
                    raise NotPermitted("Retrying needs customers.edit on this customer.")
                bridge.retry(account)
                messages.success(request, f"Account {account.login}: sync with the trading platform started again.")
            else:
                raise Http404
        except DomainError as error:
            # A refusal of the role or the scope is the whole request refused (nothing changed); the rest is said.
            if error.status == 403:
                raise PermissionDenied(error.detail) from None
            if error.status == 404:
                raise Http404(error.detail) from None
            messages.error(request, error.detail)
        except (KeyError, ValueError):
            messages.error(request, "Some fields are missing or invalid.")
        return redirect("customer-detail", pk=pk)

    def _task(self, request, customer):
        """A task with a due time and an assignee (me by default; anyone I may assign to, as in the API)."""
        from .ops import form_error_page

        values = {k: request.POST.get(k, "") for k in ("title", "due_at", "assignee_id")}
        fields: dict[str, list[str]] = {}
        if not values["title"].strip():
            fields["title"] = ["Say what is to be done."]
        elif len(values["title"]) > 200:
            fields["title"] = ["At most 200 characters."]
        due = None
        try:
            due = datetime.fromisoformat(values["due_at"])
            due = timezone.make_aware(due) if timezone.is_naive(due) else due
        except ValueError:
            fields["due_at"] = ["Choose a date and time."]
        assignee = request.user
        if values["assignee_id"]:
            assignee = users_assignable_by(user=request.user).filter(pk=parse_id(values["assignee_id"]) or 0).first()
            if assignee is None:
                fields["assignee_id"] = ["Choose someone you may assign tasks to."]
        if fields:
            return form_error_page(request, customer.pk, form="task", fields=fields, values=values)
        task = services.task_create(customer=customer, title=values["title"], due_at=due, assignee=assignee,
                                    by=request.user)
        messages.success(request, f"Task added for {task.assignee}." if task.assignee_id != request.user.pk
                         else "Task added.")
        return redirect("customer-detail", pk=customer.pk)





class TaskListView(ScopedViewMixin, WorkspaceMixin, ListView):
    template_name = "workspace/tasks.html"
    required_permission = "pipelines.manage_tasks"
    context_object_name = "tasks"

    def get_queryset(self):
        from .selectors import TASK_SCOPES, task_list

        scope = self.request.GET.get("scope", "own")
        scope = scope if scope in TASK_SCOPES else "own"
        if scope == "all" and not sees_all_tasks(self.request.user):
            raise PermissionDenied("scope=all is for roles that see every customer.")
        return task_list(user=self.request.user, scope=scope, overdue=self.request.GET.get("overdue") == "true",
                         status=Task.Status.OPEN)

    def get_context_data(self, **kwargs):
        from .lists import TASK_LIST

        ctx = super().get_context_data(**kwargs)
        ctx.update(list_page(self.request, self.object_list, TASK_LIST))
        ctx["tasks"] = ctx["rows"]
        scope = self.request.GET.get("scope", "own")
        ctx["scope"] = scope if scope in ("own", "team", "queue", "all") else "own"
        ctx["can_see_all"] = sees_all_tasks(self.request.user)
        ctx["overdue_only"] = self.request.GET.get("overdue") == "true"
        ctx["notifications"] = notifications_unread(user=self.request.user)
        ctx["now"] = timezone.now()
        return ctx


class NotificationsReadView(WorkspaceMixin, View):
    """Mark the caller's notifications read (all, or the `id` values posted)."""

    def post(self, request):
        ids = parse_ids(request.POST.getlist("id"))
        if ids is None:
            return error_page(request, 400, "Notification ids are numbers.")
        ids = ids or None  # none posted: all of them
        services.notifications_mark_read(user=request.user, ids=ids)
        from django.utils.http import url_has_allowed_host_and_scheme

        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
            target = "task-list"
        return redirect(target)
