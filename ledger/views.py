"""Workspace pages of the ledger: the compliance approval queue; the sandbox cashier of the embedded default."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

from django.contrib import messages
from django.db.models import Sum
from django.http import Http404, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import ListView

from brokercrm.errors import DomainError
from brokercrm.lists import ListSpec, list_page
from brokercrm.workspace import WorkspaceMixin
from customers.auth import session_customer
from customers.scoping import ScopedViewMixin
from teams.constants import APPROVAL_RANK

from . import conf, payments, selectors, services
from .models import Transaction, TxStatus
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
    from brokercrm.labels import label

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


def sandbox_cashier(request, order_id: str):
    """The embedded default's cashier page: approve or decline the deposit; posts a signed callback."""
    provider = payments.provider_get("sandbox")
    tx = Transaction.objects.filter(pk=payments.order_tx_id(order_id) or 0, provider="sandbox").first()
    customer = session_customer(request)
    if provider is None or tx is None or customer is None or tx.customer_id != customer.pk:
        raise Http404
    if request.method == "POST":
        status = "approved" if request.POST.get("decision") == "approve" else "declined"
        body = json.dumps({"event_id": str(uuid.uuid4()), "order_id": order_id, "status": status,
                           "amount": str(tx.amount), "currency": tx.currency}).encode()
        payments.webhook_receive(provider_name="sandbox",
                                 headers={"X-Sandbox-Signature": sign(body, conf.SANDBOX_SECRET)}, body=body)
        return redirect("client-home")
    return render(request, "client/sandbox_cashier.html", {"tx": tx, "order_id": order_id})
