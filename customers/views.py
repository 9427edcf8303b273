"""The minimal client area: sign in, profile, the deposit button and the presence heartbeat."""

from __future__ import annotations

from django import forms
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from teams.backends import axes_lockout_response

from .auth import CustomerLockedOut, customer_authenticate, customer_login, customer_logout, session_customer
from .clientarea import client_home_context
from .models import Customer
from .presence import presence_touch
from .services import activity_record


class ClientLoginForm(forms.Form):
    email = forms.EmailField()
    password = forms.CharField(widget=forms.PasswordInput)


def client_login_locked(request):
    """The client-area login page for a locked-out login (`teams.backends.axes_lockout_response` calls it for
    /client/ paths; registered in `customers.apps`). The caller adds Retry-After."""
    return render(request, "client/login.html", {"form": ClientLoginForm(), "locked": True}, status=429)


@require_http_methods(["GET", "POST"])
def client_login(request):
    form = ClientLoginForm(request.POST or None)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            customer = customer_authenticate(request, email=form.cleaned_data["email"],
                                             password=form.cleaned_data["password"])
        except CustomerLockedOut:
            return axes_lockout_response(request)
        if customer is not None:
            customer_login(request, customer)
            now = timezone.now()
            Customer.objects.filter(pk=customer.pk).update(last_login_at=now, last_activity_at=now)
            activity_record(customer=customer, verb="customer.login", summary="Signed in to the client area")
            presence_touch(customer_id=customer.pk)
            return redirect("client-home")
        error = "The email or password is wrong."
    return render(request, "client/login.html", {"form": form, "error": error})


def client_home(request):
    customer = session_customer(request)
    if customer is None:
        return redirect("client-login")
    return render(request, "client/home.html", {"customer": customer, "accounts": customer.accounts.all(),
                                                **client_home_context(customer=customer)})


@require_http_methods(["POST"])
def client_logout(request):
    customer_logout(request)
    return redirect("client-login")
