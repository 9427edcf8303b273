"""The customers' realm: a customer session (session key `customer_id`) that never authenticates staff views."""

from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from .models import Customer

SESSION_KEY = "customer_id"


class CustomerPrincipal:
    """The authenticated customer as DRF's `request.user` on customer endpoints (never a staff User)."""

    is_authenticated = True
    is_active = True
    is_anonymous = False

    def __init__(self, customer: Customer):
        self.customer = customer
        self.pk = customer.pk


def customer_login(request, customer: Customer) -> None:
    request.session.cycle_key()
    request.session[SESSION_KEY] = customer.pk


def customer_logout(request) -> None:
    request.session.pop(SESSION_KEY, None)


def session_customer(request) -> Customer | None:
    customer_id = request.session.get(SESSION_KEY)
    return Customer.objects.filter(pk=customer_id).first() if customer_id else None


class CustomerSessionAuthentication(BaseAuthentication):
    def authenticate(self, request):
        customer = session_customer(request._request)
        if customer is None:
            return None
        from rest_framework.authentication import CSRFCheck
        from rest_framework.exceptions import PermissionDenied

        def dummy_get_response(req):
            return None

        check = CSRFCheck(dummy_get_response)
        check.process_request(request._request)
        reason = check.process_view(request._request, None, (), {})
        if reason:
            raise PermissionDenied(f"CSRF failed: {reason}")
        return CustomerPrincipal(customer), None

    def authenticate_header(self, request):
        return "Session"


class IsCustomer(BasePermission):
    def has_permission(self, request, view) -> bool:
        return isinstance(request.user, CustomerPrincipal)
