"""The customer page's operations that used to exist only in the API: create a transaction, edit the profile,
reassign the customer, send a template, export the list. Each form validates with the API's own serializer and
calls the service the API calls (no rule is written twice here). A refusal of the role or scope answers 403/404
and changes nothing; invalid input re-renders the customer page (400) with the message next to its field."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.views import View

from brokercrm.errors import DomainError
from brokercrm.inputs import parse_id
from brokercrm.labels import label
from brokercrm.middleware import error_page
from brokercrm.workspace import WorkspaceMixin
from comms import services as comms_services
from comms.models import EmailTemplate, SmsTemplate
from customers import services as customer_services
from customers.api.serializers import CustomerPatch
from customers.exports import customer_export_response, export_allowed
from customers.models import Customer, CustomerGroup
from ledger import services as ledger_services
from ledger.api.serializers import TransactionIn
from ledger.models import TxStatus
from ledger.types import TYPES
from teams.models import Team
from teams.selectors import users_assignable_by


def _words(errors) -> dict[str, list[str]]:
    """DRF/service field errors as {field: [plain sentences]} (nested lists and dicts flattened, never JSON)."""
    out: dict[str, list[str]] = {}
    for name, value in (errors or {}).items():
        items = value if isinstance(value, list | tuple) else [value]
        texts = []
        for item in items:
            if isinstance(item, dict):
                texts.extend(" ".join(map(str, v)) if isinstance(v, list) else str(v) for v in item.values())
            else:
                texts.append(str(item))
        out[str(name)] = texts
    return out


def form_error_page(request, pk: int, *, form: str, fields: dict | None = None, error: str = "",
                    values: dict | None = None, status: int = 400):
    """The customer page again, with the failed form open: its errors next to the fields, the values kept."""
    from .views import CustomerDetailView

    view = CustomerDetailView()
    view.setup(request, pk=pk)
    view.extra_context = {"ops_form": form, "ops_errors": _words(fields), "ops_error": error,
                          "ops_values": values or {}}
    response = view.get(request, pk=pk)
    response.status_code = status
    return response


def _refuse(error) -> None:
    """A service's permission or scope refusal: the whole request is refused (403/404), nothing changed."""
    if getattr(error, "status", 400) == 403:
        raise PermissionDenied(error.detail)
    if getattr(error, "status", 400) == 404:
        raise Http404(error.detail)


def _visible_customer(request, pk: int) -> Customer:
    customer = Customer.objects.visible_to(request.user).filter(pk=pk).first()
    if customer is None:
        raise Http404("No such customer.")
    return customer


def creatable_types(user) -> list[tuple[str, str]]:
    """The transaction types `user`'s role may create (ledger.types: each type's permission)."""

    return [(code, label(code)) for code, spec in TYPES.items() if user.holds(spec.permission)]


class CustomerTransactionView(WorkspaceMixin, View):
    """Create a deposit, withdrawal, bonus, credit, chargeback, correction… on one of the customer's accounts."""

    required_permission = "finance.view_transactions"

    def post(self, request, pk: int):
        customer = _visible_customer(request, pk)
        values = {k: request.POST.get(k, "") for k in ("type", "account_login", "amount", "comment")}
        if not creatable_types(request.user):
            raise PermissionDenied("Your role creates no transactions.")
        account = customer.accounts.filter(login=parse_id(values["account_login"]) or 0).first()
        if account is None:
            return form_error_page(request, pk, form="transaction", values=values,
                                   fields={"account_login": ["Choose one of this customer's accounts."]})
        data = TransactionIn(data={**values, "account_login": account.login, "currency": account.currency,
                                   "idempotency_key": request.POST.get("idempotency_key") or None})
        if not data.is_valid():
            return form_error_page(request, pk, form="transaction", values=values, fields=data.errors)
        try:
            tx, created = ledger_services.transaction_create(by=request.user, **data.validated_data)
        except DomainError as error:
            _refuse(error)
            fields = error.fields or {}
            if error.code in ("insufficient_funds", "account_frozen"):
                fields = {"amount": [error.detail]}
            return form_error_page(request, pk, form="transaction", values=values, fields=fields,
                                   error="" if fields else error.detail)
        what = f"{label(tx.type)} of {tx.amount} {tx.currency} for {customer.full_name} (#{tx.pk})"
        if not created:
            messages.info(request, f"{what} was already created; nothing new was made.")
        elif tx.status == TxStatus.PENDING_APPROVAL:
            messages.success(request, f"{what} created; it waits for {label(tx.required_role).lower()} approval.")
        else:
            messages.success(request, f"{what} created: {label(tx.status).lower()}.")
        return redirect("customer-detail", pk=pk)


class CustomerProfileView(WorkspaceMixin, View):
    """Edit the profile fields of the API's PATCH (names, locale, marketing consent)."""

    required_permission = "customers.edit"

    def post(self, request, pk: int):
        customer = _visible_customer(request, pk)
        values = {"first_name": request.POST.get("first_name", ""), "last_name": request.POST.get("last_name", ""),
                  "locale": request.POST.get("locale", ""),
                  "marketing_consent": request.POST.get("marketing_consent") == "on"}
        data = CustomerPatch(data=values, partial=True)
        if not data.is_valid():
            return form_error_page(request, pk, form="profile", values=values, fields=data.errors)
        try:
            customer_services.customer_update(customer=customer, by=request.user, **data.validated_data)
        except customer_services.CustomerError as error:
            _refuse(error)
            return form_error_page(request, pk, form="profile", values=values, fields=error.fields,
                                   error="" if error.fields else error.detail)
        messages.success(request, "Profile saved.")
        return redirect("customer-detail", pk=pk)


class CustomerAssignView(WorkspaceMixin, View):
    """Reassign one customer (or unassign): the API's PATCH `assigned_to`."""

    required_permission = "customers.assign"

    def post(self, request, pk: int):
        customer = _visible_customer(request, pk)
        raw = request.POST.get("assigned_to", "")
        agent_id = parse_id(raw) if raw else None
        if raw and agent_id is None:
            return form_error_page(request, pk, form="assign", fields={"assigned_to": ["Choose an agent."]})
        try:
            customer = customer_services.customer_update(customer=customer, by=request.user, assigned_to=agent_id)
        except customer_services.CustomerError as error:
            _refuse(error)
            return form_error_page(request, pk, form="assign", values={"assigned_to": raw},
                                   fields={"assigned_to": [error.detail]})
        messages.success(request, f"{customer.full_name} is now assigned to {customer.assigned_to}."
                         if customer.assigned_to else f"{customer.full_name} is now unassigned.")
        return redirect("customer-detail", pk=pk)


def sendable_templates(user) -> list[tuple[str, str]]:
    """("email:<id>" / "sms:<id>", label) for the channels `user` may send on."""

    out = []
    if user.holds("communications.send_email"):
        out += [(f"email:{t.pk}", f"Email · {t.name}") for t in EmailTemplate.objects.order_by("name")]
    if user.holds("communications.send_sms"):
        out += [(f"sms:{t.pk}", f"SMS · {t.name}") for t in SmsTemplate.objects.order_by("name")]
    return out


class CustomerSendView(WorkspaceMixin, View):
    """Send an email or SMS template to the customer (comms.services.message_queue, as the API's send)."""

    required_permission = "communications.view_templates"

    def post(self, request, pk: int):
        customer = _visible_customer(request, pk)
        raw = request.POST.get("template", "")
        kind, _, raw_id = raw.partition(":")
        model = {"email": EmailTemplate, "sms": SmsTemplate}.get(kind)
        template = model.objects.filter(pk=parse_id(raw_id) or 0).first() if model else None
        if template is None:
            return form_error_page(request, pk, form="send", values={"template": raw},
                                   fields={"template": ["Choose a template."]})
        if not request.user.holds(f"communications.send_{kind}"):
            raise PermissionDenied(f"Sending {label(kind)} needs communications.send_{kind}.")
        try:
            message = comms_services.message_queue(customer=customer, template=template, by=request.user)
        except DomainError as error:
            _refuse(error)
            return form_error_page(request, pk, form="send", values={"template": raw},
                                   fields={"template": [error.detail]})
        if message.status == message.Status.SKIPPED:
            messages.warning(request, f"{label(kind)} “{template.name}” not sent to {customer.full_name}: "
                                      f"{message.error}.")
        else:
            messages.success(request, f"{label(kind)} “{template.name}” queued for {customer.full_name}.")
        return redirect("customer-detail", pk=pk)


class CustomerExportView(WorkspaceMixin, View):
    """The visible customers (the list's filters apply) as CSV, PII as the exporting role sees it; refused
    (403, in words) without the export right."""

    required_permission = "reports.export_customers"

    def get(self, request):
        from .lists import CustomerFilterForm

        if not export_allowed(request.user):
            raise PermissionDenied("Exporting customers needs the export right (can_export_pii): the file "
                                   "carries personal data.")

        agents = list(users_assignable_by(user=request.user)) if request.user.holds("customers.assign") else []
        form = CustomerFilterForm(request.GET, agents=agents, teams=Team.objects.all(),
                                  groups=CustomerGroup.objects.all())
        if not form.is_valid():
            return error_page(request, 400, "Some filters are invalid; correct them on the customer list first.")
        return customer_export_response(form.apply(user=request.user, request=request), request.user)
