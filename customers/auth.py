"""The customers' realm: a customer session (session key `customer_id`) that never authenticates staff views."""

from __future__ import annotations

from axes.handlers.proxy import AxesProxyHandler
from django.contrib.auth.hashers import make_password
from django.contrib.auth.signals import user_login_failed
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


class CustomerLockedOut(Exception):
    """Too many failed client-area logins for this email (or from this address): django-axes' lockout."""


def _axes_credentials(email: str) -> dict[str, str]:
    # A separate namespace from staff usernames: a customer and a staff member may share an email address.
    from .services import email_canonical

    try:
        key = email_canonical(email)
    except UnicodeError:
        key = email.strip().lower()
    return {"username": f"client:{key}"}


def customer_authenticate(request, *, email: str, password: str) -> Customer | None:
    """Check a customer's email and password, under the same lockout rules as staff logins (django-axes).

    Raises CustomerLockedOut when the account or the address is locked (even with the right password). An
    unknown email costs one password hash too, so response times don't tell which emails are customers."""
    from .services import email_canonical

    credentials = _axes_credentials(email)
    if AxesProxyHandler.is_locked(request, credentials):
        raise CustomerLockedOut
    try:
        customer = Customer.objects.filter(email_canonical=email_canonical(email)).first()
    except UnicodeError:
        customer = None
    if customer is not None and customer.password:
        valid = customer.check_password(password)
    else:
        make_password(password)  # the same work as checking a real hash
        valid = False
    if not valid:
        user_login_failed.send(sender=__name__, credentials=credentials, request=request)
        if getattr(request, "axes_locked_out", False):
            raise CustomerLockedOut
        return None
    AxesProxyHandler.reset_attempts(username=credentials["username"])
    return customer


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
