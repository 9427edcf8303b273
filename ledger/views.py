"""Workspace pages of the ledger: the compliance approval queue; the administration of payment routes, FX rates
and approval rules; the sandbox cashier of the embedded default."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.contrib import messages
from django.db.models import Sum
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import ListView
from rest_framework.exceptions import ValidationError

from brokercrm.adminpages import field_errors, refused
from brokercrm.errors import DomainError
from brokercrm.inputs import parse_id
from brokercrm.labels import label
from brokercrm.lists import ListSpec, list_page
from brokercrm.workspace import WorkspaceMixin
from customers.auth import session_customer
from customers.scoping import ScopedViewMixin
from teams.constants import APPROVAL_RANK

from . import conf, payments, selectors, services
from .api.serializers import ApprovalRuleSerializer, FxRateSerializer, PaymentRouteSerializer
from .models import ApprovalRule, FxRate, PaymentRoute, Transaction, TxStatus
from .providers.sandbox import sign

APPROVAL_LIST = ListSpec(
    sorts={"id": ("id",), "type": ("type",), "amount_usd": ("amount_usd",), "needs": ("required_role",),
           "customer": ("customer__last_name", "customer__first_name"), "created": ("created_at",)},
    default_sort="created", default_size=100, labels={"id": "#", "amount_usd": "USD", "needs": "Needs"})


def _may_decide(tx: Transaction, user) -> str:
    """Why `user` may not approve or reject `tx` ("" when they may): the rules of services.transaction_approve
    (maker-checker, the approval level of the amount's tier), asked before the click instead of after it."""
    if tx.created_by_id == user.pk:
        return "You created it: another approver decides (maker-checker)."
    level = user.role.approval_level if user.role else "none"
    if not user.is_superuser and APPROVAL_RANK.get(level, 0) < APPROVAL_RANK.get(tx.required_role, 3):
        return f"This amount needs {tx.required_role} approval."
    return ""


class ApprovalQueueView(ScopedViewMixin, WorkspaceMixin, ListView):
    """Pending transactions the viewer may act on, with what a compliance officer needs to decide. Approve and
    Reject show only on the rows the viewer may decide; sortable, counted and paged (brokercrm.lists)."""

    template_name = "workspace/approvals.html"
    required_permission = "finance.approve_transactions"
    context_object_name = "pending"

    def get_queryset(self):
        return (self.scoped(Transaction).filter(status=TxStatus.PENDING_APPROVAL)
                .select_related("customer", "account", "created_by", "reverses").order_by("created_at"))

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        listing = list_page(self.request, self.object_list, APPROVAL_LIST)
        ctx.update(listing)
        ctx["pending"] = listing["rows"]
        since = timezone.now() - timedelta(days=30)
        ids = [tx.customer_id for tx in ctx["pending"]]
        deposits = dict(self.scoped(Transaction).filter(customer_id__in=ids, type="deposit", status="completed",
                                                   created_at__gte=since)
                        .values_list("customer_id").annotate(total=Sum("amount")))
        chargebacks = set(self.scoped(Transaction).filter(customer_id__in=ids, type="chargeback")
                          .values_list("customer_id", flat=True))
        rows = []
        for tx in ctx["pending"]:
            flags = []
            if tx.customer.finance_status == "frozen":
                flags.append("frozen")
            if tx.customer.possible_duplicate_of_id:
                flags.append("possible duplicate")
            if tx.customer_id in chargebacks:
                flags.append("chargeback history")
            recent = deposits.get(tx.customer_id) or 0
            if tx.type == "withdrawal" and tx.amount > recent:
                flags.append("withdraws more than deposited in 30 days")
            if tx.created_by_id == self.request.user.pk:
                flags.append("created by you (maker-checker)")
            rows.append({"tx": tx, "recent_deposits": recent, "flags": flags,
                         "available": services.available_balance(tx.account) + tx.amount,
                         "cannot_decide": _may_decide(tx, self.request.user)})
        ctx["rows"] = rows
        ctx["fx"] = selectors.fx_rates_overview()
        # Approved withdrawals whose money still has to go out (ledger.payouts): record the bank reference, or
        # the failure (the funds go back to the balance).
        ctx["payouts"] = (self.scoped(Transaction).filter(status=TxStatus.PAYOUT_PENDING)
                          .select_related("customer", "account", "payout").order_by("created_at"))
        return ctx


class ApprovalActionView(ScopedViewMixin, WorkspaceMixin, View):
    """The queue's forms: `approve`, `reject` (with a reason), a payout's `paid` or `payout-failed`. Any other verb is
    refused, never acted on."""

    required_permission = "finance.approve_transactions"
    VERBS = ("approve", "reject", "paid", "payout-failed")

    def post(self, request, pk: int, verb: str):
        if verb not in self.VERBS:
            return HttpResponseBadRequest("Unknown action: the approval forms only approve or reject.")
        tx = self.scoped(Transaction).filter(pk=pk).first()
        if tx is None:
            raise Http404
        from . import payouts

        try:
            if verb == "approve":
                tx = services.transaction_approve(tx=tx, by=request.user)
                messages.success(request, f"{_what(tx)} approved."
                                 + (" It awaits its payout." if tx.status == TxStatus.PAYOUT_PENDING else ""))
            elif verb == "paid":
                payouts.payout_complete(tx=tx, by=request.user, reference=request.POST.get("reference", ""))
                messages.success(request, f"Withdrawal #{pk} paid out.")
            elif verb == "payout-failed":
                payouts.payout_fail(tx=tx, by=request.user, reason=request.POST.get("reason", ""))
                messages.success(request, f"Payout of #{pk} failed; the funds are back on the balance.")
            elif verb == "reject":
                services.transaction_reject(tx=tx, by=request.user, reason=request.POST.get("reason", ""))
                messages.success(request, f"{_what(tx)} rejected.")
        except DomainError as error:
            messages.error(request, f"#{pk}: {error.detail}")
        return redirect("approvals")


def _what(tx: Transaction) -> str:
    """"Withdrawal #12 of 15000.00 USD for Jane Doe": what a message or a confirmation names."""

    return f"{label(tx.type)} #{tx.pk} of {tx.amount} {tx.currency} for {tx.customer.full_name}"


class TransactionActionView(ScopedViewMixin, WorkspaceMixin, View):
    """The lifecycle buttons of a transaction row: cancel (its creator, while pending) and reverse (with a reason)."""

    required_permission = "finance.view_transactions"

    def post(self, request, pk: int, verb: str):
        tx = self.scoped(Transaction).filter(pk=pk).first()
        if tx is None or verb not in ("cancel", "reverse"):
            raise Http404
        try:
            if verb == "cancel":
                services.transaction_cancel(tx=tx, by=request.user, reason=request.POST.get("reason", ""))
                messages.success(request, f"Transaction #{pk} cancelled.")
            else:
                reversal = services.transaction_reverse(tx=tx, by=request.user,
                                                        reason=request.POST.get("reason", ""))
                messages.success(request, f"Reversal #{reversal.pk} of #{pk} requested; it waits for approval.")
        except DomainError as error:
            messages.error(request, f"#{pk}: {error.detail}")
        target = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) or not target:
            target = reverse("customer-detail", args=[tx.customer_id])
        return redirect(target)


# --- Administration (issue #14): payment routes, FX rates and approval rules, through the platform API's serializers
# and services (finance.manage_payment_routes).


class PaymentRoutesView(WorkspaceMixin, View):
    """Payment routes in priority order: add, edit, switch off, delete (with confirmation)."""

    required_permission = "finance.manage_payment_routes"
    template_name = "workspace/admin/payment_routes.html"

    def context(self, **extra):
        return {"routes": PaymentRoute.objects.all(), "providers": PaymentRoute.Provider.values, "values": None,
                "errors": {}, **extra}

    def get(self, request):
        return render(request, self.template_name, self.context())

    def post(self, request):
        verb, post = request.POST.get("verb", ""), request.POST
        route = None
        if verb in ("update", "delete"):
            route = get_object_or_404(PaymentRoute, pk=parse_id(post.get("route")) or 0)
        if verb == "delete":
            label = str(route)
            services.payment_route_delete(route=route, by=request.user)
            messages.success(request, f"Payment route {label} deleted.")
            return redirect("admin-payment-routes")
        if verb not in ("create", "update"):
            raise Http404
        payload = {k: post.get(k, "").strip() for k in ("country", "currency", "provider", "priority")}
        payload["country"], payload["currency"] = payload["country"].upper(), payload["currency"].upper()
        for key in ("min_amount", "max_amount"):
            payload[key] = post.get(key, "").strip() or None
        payload["is_active"] = post.get("is_active") == "on"
        data = PaymentRouteSerializer(route, data=payload)
        try:
            data.is_valid(raise_exception=True)
        except ValidationError as error:
            return refused(request, self.template_name,
                           self.context(values=post, verb=verb, route_id=post.get("route")), error)
        if route is None:
            route = services.payment_route_create(by=request.user, **data.validated_data)
        else:
            route = services.payment_route_update(route=route, by=request.user, **data.validated_data)
        messages.success(request, f"Payment route {route} {'saved' if verb == 'update' else 'added'}.")
        return redirect("admin-payment-routes")


class FxRatesView(WorkspaceMixin, View):
    """FX rates with their freshness; set one by hand (ledger.services.fx_rate_set)."""

    required_permission = "finance.manage_payment_routes"
    template_name = "workspace/admin/fx_rates.html"

    def context(self, **extra):
        rows = FxRateSerializer(FxRate.objects.all(), many=True).data
        return {"rates": rows, "values": None, "errors": {}, **extra}

    def get(self, request):
        return render(request, self.template_name, self.context())

    def post(self, request):
        payload = {"currency": request.POST.get("currency", "").strip().upper(),
                   "usd_rate": request.POST.get("usd_rate", "").strip()}
        data = FxRateSerializer(data=payload)
        try:
            if FxRate.objects.filter(currency=payload["currency"]).exists():
                data = FxRateSerializer(FxRate.objects.get(currency=payload["currency"]), data=payload)
            data.is_valid(raise_exception=True)
            rate = services.fx_rate_set(by=request.user, **data.validated_data)
        except (ValidationError, services.LedgerError) as error:
            return refused(request, self.template_name, self.context(values=request.POST), error)
        messages.success(request, f"1 {rate.currency} = {rate.usd_rate.normalize():f} USD from now on.")
        return redirect("admin-fx-rates")


class ApprovalRulesPageView(WorkspaceMixin, View):
    """The approval tiers (USD bands → the approver level they need), replaced as a whole
    (ledger.services.approval_rules_replace checks they start at 0, leave no gap and end open)."""

    required_permission = "finance.manage_payment_routes"
    template_name = "workspace/admin/approval_rules.html"
    SPARE_ROWS = 2

    def context(self, rows=None, **extra):
        if rows is None:
            rows = [{"min_amount_usd": r.min_amount_usd, "max_amount_usd": r.max_amount_usd,
                     "required_role": r.required_role} for r in ApprovalRule.objects.all()]
            rows += [{"min_amount_usd": "", "max_amount_usd": "", "required_role": ""}] * self.SPARE_ROWS
        return {"rows": rows, "roles": ("agent", "manager", "compliance"), "errors": {}, **extra}

    def get(self, request):
        return render(request, self.template_name, self.context())

    def post(self, request):
        mins, maxes = request.POST.getlist("min_amount_usd"), request.POST.getlist("max_amount_usd")
        roles = request.POST.getlist("required_role")
        rows = [{"min_amount_usd": lo.strip(), "max_amount_usd": hi.strip(), "required_role": role}
                for lo, hi, role in zip(mins, maxes, roles, strict=False)]
        filled = [{**r, "max_amount_usd": r["max_amount_usd"] or None} for r in rows
                  if r["min_amount_usd"] or r["max_amount_usd"] or r["required_role"]]
        data = ApprovalRuleSerializer(data=filled, many=True)
        try:
            data.is_valid(raise_exception=True)
            rules = services.approval_rules_replace(rules=data.validated_data, by=request.user)
        except ValidationError as error:
            words = {"min_amount_usd": "from (USD)", "max_amount_usd": "up to (USD)", "required_role": "approver"}
            detail = error.detail  # per row: a list, or a dict keyed by the row's index
            items = sorted(detail.items()) if isinstance(detail, dict) else list(enumerate(detail))
            problems = [f"Tier {i + 1}, {words.get(field, field)}: {message}"
                        for i, item in items if item
                        for field, found in field_errors(ValidationError(item)).items() for message in found]
            error = services.LedgerError("Invalid approval rules.", fields={"rules": problems})
            return refused(request, self.template_name, self.context(rows=rows), error)
        except services.LedgerError as error:
            return refused(request, self.template_name, self.context(rows=rows), error)
        messages.success(request, f"Approval rules saved: {len(rules)} tier{'s' if len(rules) != 1 else ''}.")
        return redirect("admin-approval-rules")


def sandbox_cashier(request, order_id: str):
    """The embedded default's cashier page: approve or decline the deposit; posts a signed callback."""
    provider = payments.provider_get("sandbox")
    customer = session_customer(request)
    tx = selectors.client_order_get(customer=customer, tx_id=payments.order_tx_id(order_id), provider="sandbox")
    if provider is None or tx is None or customer is None:
        raise Http404
    if request.method == "POST":
        status = "approved" if request.POST.get("decision") == "approve" else "declined"
        body = json.dumps({"event_id": str(uuid.uuid4()), "order_id": order_id, "status": status,
                           "amount": str(tx.amount), "currency": tx.currency}).encode()
        payments.webhook_receive(provider_name="sandbox",
                                 headers={"X-Sandbox-Signature": sign(body, conf.SANDBOX_SECRET)}, body=body)
        return redirect("client-home")
    return render(request, "client/sandbox_cashier.html", {"tx": tx, "order_id": order_id})
