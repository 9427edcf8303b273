from __future__ import annotations

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework import generics, mixins, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.views import APIView

from brokercrm.api.schema import errors
from brokercrm.errors import NotFound, PermissionDenied
from brokercrm.inputs import parse_id
from customers.auth import CustomerSessionAuthentication, IsCustomer
from customers.models import Customer
from customers.scoping import ScopedViewMixin
from teams.permissions import ActionPermissions, require

from .. import payments, selectors, services
from ..models import ApprovalRule, FxRate, PaymentRoute, Transaction
from .serializers import (
    AccountOpenIn,
    AccountOpenOut,
    ApprovalRuleSerializer,
    CancelIn,
    CustomerTransactionOut,
    DepositIn,
    DepositOut,
    FxRateSerializer,
    PaymentRouteSerializer,
    PayoutIn,
    RejectIn,
    ReverseIn,
    TransactionIn,
    TransactionOut,
    WithdrawalIn,
    WithdrawalOut,
)


class TransactionViewSet(ScopedViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Transactions of the customers in the caller's view scope."""

    serializer_class = TransactionOut
    permission_classes = [ActionPermissions]
    action_permissions = {"list": "finance.view_transactions", "retrieve": "finance.view_transactions",
                          "approve": "finance.approve_transactions", "reject": "finance.approve_transactions",
                          "cancel": "finance.view_transactions",
                          "reverse": ("finance.view_transactions", "finance.create_adjustment"),
                          "payout": "finance.approve_transactions"}

    def get_queryset(self):
        qs = (self.scoped(Transaction)
              .select_related("account", "created_by", "approved_by", "rejected_by", "payout",
                              "customer"))
        params = self.request.query_params
        for key in ("status", "type"):
            if params.get(key):
                qs = qs.filter(**{key: params[key]})
        if params.get("customer"):
            qs = qs.filter(customer=parse_id(params["customer"]) or 0)
        return qs

    @extend_schema(request=TransactionIn, responses={201: TransactionOut, 200: TransactionOut,
                                                     **errors(400, 401, 403, 404, 409)})
    def create(self, request):
        data = TransactionIn(data=request.data)
        data.is_valid(raise_exception=True)
        tx, created = services.transaction_create(by=request.user, **data.validated_data)
        return Response(TransactionOut(tx, context={"request": request}).data, status=201 if created else 200)

    @extend_schema(request=None, responses={200: TransactionOut, **errors(401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        tx = services.transaction_approve(tx=self.get_object(), by=request.user)
        return Response(TransactionOut(tx, context={"request": request}).data)

    @extend_schema(request=RejectIn, responses={200: TransactionOut, **errors(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        data = RejectIn(data=request.data)
        data.is_valid(raise_exception=True)
        tx = services.transaction_reject(tx=self.get_object(), by=request.user, reason=data.validated_data["reason"])
        return Response(TransactionOut(tx, context={"request": request}).data)

    @extend_schema(request=CancelIn, responses={200: TransactionOut, **errors(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        """The creator cancels a transaction still pending approval; its reserved funds are released."""
        data = CancelIn(data=request.data)
        data.is_valid(raise_exception=True)
        tx = services.transaction_cancel(tx=self.get_object(), by=request.user, **data.validated_data)
        return Response(TransactionOut(tx).data)

    @extend_schema(request=ReverseIn, responses={201: TransactionOut, **errors(400, 401, 403, 404, 409)})
    @action(detail=True, methods=["post"])
    def reverse(self, request, pk=None):
        """Request the reversal of a completed transaction: a linked transaction pending approval (maker-checker)."""
        data = ReverseIn(data=request.data)
        data.is_valid(raise_exception=True)
        tx = services.transaction_reverse(tx=self.get_object(), by=request.user, **data.validated_data)
        return Response(TransactionOut(tx).data, status=201)


    @extend_schema(request=PayoutIn, responses={200: TransactionOut, **errors(400, 401, 403, 404, 409, 503)})
    @action(detail=True, methods=["post"])
    def payout(self, request, pk=None):
        """Settle the payout of an approved withdrawal (`payout_pending`): `{"reference"}` → paid, completed;
        `{"outcome": "failed", "reason"}` → failed, funds returned; `{"provider": "bridgerpay", "psp",
        "payout_method_type", "metadata"}` → sent through BridgerPay's payout API. Repeats change nothing."""
        from .. import payouts

        data = PayoutIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        tx = self.get_object()
        if v.get("provider"):
            tx = payouts.payout_via_provider(tx=tx, by=request.user, provider=v["provider"], psp=v.get("psp", ""),
                                             method_type=v.get("payout_method_type", ""),
                                             metadata=v.get("metadata") or {})
        elif v["outcome"] == "failed":
            tx = payouts.payout_fail(tx=tx, by=request.user, reason=v.get("reason", ""))
        else:
            tx = payouts.payout_complete(tx=tx, by=request.user, reference=v.get("reference", ""))
        return Response(TransactionOut(tx).data)


class ApprovalRulesView(APIView):
    """The withdrawal approval tiers (USD bands → required role)."""

    permission_classes = [require("finance.view_transactions")]

    @extend_schema(responses={200: ApprovalRuleSerializer(many=True), **errors(401, 403)})
    def get(self, request):
        return Response(ApprovalRuleSerializer(ApprovalRule.objects.all(), many=True).data)

    @extend_schema(request=ApprovalRuleSerializer(many=True),
                   responses={200: ApprovalRuleSerializer(many=True), **errors(400, 401, 403)})
    def put(self, request):
        if not request.user.holds("finance.manage_payment_routes"):
            raise PermissionDenied("Needs finance.manage_payment_routes.")
        data = ApprovalRuleSerializer(data=request.data, many=True)
        data.is_valid(raise_exception=True)
        rules = services.approval_rules_replace(rules=data.validated_data, by=request.user)
        return Response(ApprovalRuleSerializer(rules, many=True).data)


class UnfreezeIn(RejectIn):
    pass


class UnfreezeView(ScopedViewMixin, APIView):
    permission_classes = [require("pipelines.change_finance_status")]

    @extend_schema(request=UnfreezeIn, responses={200: None, **errors(400, 401, 403, 404, 409)})
    def post(self, request, customer_id: int):
        data = UnfreezeIn(data=request.data)
        data.is_valid(raise_exception=True)
        customer = self.scoped(Customer).filter(pk=customer_id).first()
        if customer is None:
            raise NotFound("Not found.")
        customer = services.customer_unfreeze(customer=customer, by=request.user, reason=data.validated_data["reason"])
        return Response({"id": customer.pk, "finance_status": customer.finance_status})


class FxRateViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    serializer_class = FxRateSerializer
    queryset = FxRate.objects.all()
    permission_classes = [ActionPermissions]
    action_permissions = {"list": "finance.view_transactions", "*": "finance.manage_payment_routes"}
    pagination_class = None

    @extend_schema(request=FxRateSerializer, responses={200: FxRateSerializer, **errors(400, 401, 403)})
    def create(self, request):
        data = FxRateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        rate = services.fx_rate_set(by=request.user, **data.validated_data)
        return Response(FxRateSerializer(rate).data)


class PaymentRouteViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Payment routes: parse with the serializer, write with ledger.services (audited), render."""

    serializer_class = PaymentRouteSerializer
    queryset = PaymentRoute.objects.all()
    permission_classes = [ActionPermissions]
    action_permissions = {"*": "finance.manage_payment_routes"}
    pagination_class = None

    def create(self, request, *args, **kwargs):
        data = self.get_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        route = services.payment_route_create(by=request.user, **data.validated_data)
        return Response(self.get_serializer(route).data, status=201)

    def update(self, request, *args, partial: bool = False, **kwargs):
        data = self.get_serializer(self.get_object(), data=request.data, partial=partial)
        data.is_valid(raise_exception=True)
        route = services.payment_route_update(route=data.instance, by=request.user, **data.validated_data)
        return Response(self.get_serializer(route).data)

    def partial_update(self, request, *args, **kwargs):
        return self.update(request, *args, partial=True, **kwargs)

    def destroy(self, request, *args, **kwargs):
        services.payment_route_delete(route=self.get_object(), by=request.user)
        return Response(status=204)


# --- payments ------------------------------------------------------------------------------------------------------


class CustomerDepositView(APIView):
    """A signed-in customer starts a deposit; the route for their country picks the provider."""

    authentication_classes = [CustomerSessionAuthentication]
    permission_classes = [IsCustomer]

    @extend_schema(request=DepositIn, responses={201: DepositOut, **errors(400, 401, 403)})
    def post(self, request):
        data = DepositIn(data=request.data)
        data.is_valid(raise_exception=True)
        tx, provider, session = payments.deposit_start_session(customer=request.user.customer,
                                                               **data.validated_data)
        return Response({"transaction_id": tx.pk, "provider": provider, "redirect_url": session.redirect_url,
                         "embed": session.embed}, status=201)


class CustomerWithdrawalView(APIView):
    """A signed-in customer requests a withdrawal; it waits for approval with its amount reserved."""

    authentication_classes = [CustomerSessionAuthentication]
    permission_classes = [IsCustomer]

    @extend_schema(request=WithdrawalIn, responses={201: WithdrawalOut, **errors(400, 401, 403, 409)})
    def post(self, request):
        data = WithdrawalIn(data=request.data)
        data.is_valid(raise_exception=True)
        tx = services.withdrawal_request(customer=request.user.customer, **data.validated_data)
        return Response({"transaction_id": tx.pk, "status": tx.status}, status=201)


class CustomerAccountOpenView(APIView):
    """A signed-in customer opens a further trading account (409 kyc_required when the KYC gate applies)."""

    authentication_classes = [CustomerSessionAuthentication]
    permission_classes = [IsCustomer]

    @extend_schema(request=AccountOpenIn, responses={201: AccountOpenOut, **errors(400, 401, 403, 409)})
    def post(self, request):
        data = AccountOpenIn(data=request.data)
        data.is_valid(raise_exception=True)
        account = services.account_open_further(customer=request.user.customer, **data.validated_data)
        return Response({"login": account.login, "currency": account.currency}, status=201)


class CustomerWithdrawalCancelView(APIView):
    """The customer cancels their own withdrawal request while it is pending approval."""

    authentication_classes = [CustomerSessionAuthentication]
    permission_classes = [IsCustomer]

    @extend_schema(request=None, responses={200: WithdrawalOut, **errors(401, 403, 404, 409)})
    def post(self, request, pk: int):
        tx = services.transaction_cancel(tx=Transaction(pk=pk), customer=request.user.customer)
        return Response({"transaction_id": tx.pk, "status": tx.status})


class CustomerTransactionListView(generics.ListAPIView):
    """The customer's deposits and withdrawals with their statuses, newest first."""

    authentication_classes = [CustomerSessionAuthentication]
    permission_classes = [IsCustomer]
    serializer_class = CustomerTransactionOut

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Transaction.objects.none()
        return selectors.customer_transaction_list(customer=self.request.user.customer)


@csrf_exempt
@require_POST
def provider_webhook(request, provider: str):
    """Provider callbacks: signature-checked, idempotent, final states never move backwards. Refusals are domain
    errors (the JSON error middleware answers them); other methods are 405."""
    ack = payments.webhook_receive(provider_name=provider, headers=request.headers, body=request.body)
    response = JsonResponse(ack.body)
    for key, value in ack.headers.items():
        response[key] = value
    return response
