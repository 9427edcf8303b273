"""The minimal client area (sign in, profile, the deposit button, the presence heartbeat) and the administration
pages of registration: promo codes, fraud settings and registration paths."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views import View
from django.views.decorators.http import require_http_methods
from rest_framework.exceptions import ValidationError

from brokercrm.adminpages import refused
from brokercrm.errors import DomainError
from brokercrm.inputs import parse_id
from brokercrm.workspace import WorkspaceMixin
from teams.backends import axes_lockout_response

from . import selectors, services
from .api.serializers import FraudSettingsSerializer, PromoCodeSerializer, RegistrationPathSerializer
from .auth import CustomerLockedOut, customer_authenticate, customer_login, customer_logout, session_customer
from .clientarea import client_home_context
from .models import CustomerGroup, FraudSettings, RegistrationPath
from .presence import presence_touch


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
            services.customer_signed_in(customer=customer)
            presence_touch(customer_id=customer.pk)
            return redirect("client-home")
        error = "The email or password is wrong."
    return render(request, "client/login.html", {"form": form, "error": error})


def client_home(request, *, kyc_error: str = "", status: int = 200):
    customer = session_customer(request)
    if customer is None:
        return redirect("client-login")
    from .kyc.selectors import client_kyc_context

    return render(request, "client/home.html", {"customer": customer, "accounts": customer.accounts.all(),
                                                **client_home_context(customer=customer),
                                                **client_kyc_context(customer=customer), "kyc_error": kyc_error},
                  status=status)


@require_http_methods(["POST"])
def client_document_upload(request):
    """The client area's document form (multipart); errors are shown on the home page."""
    from datetime import date

    from .kyc.services import document_upload

    customer = session_customer(request)
    if customer is None:
        return redirect("client-login")
    try:
        document_upload(customer=customer, by_customer=True, file=request.FILES.get("file"),
                        kind=request.POST.get("kind", ""),
                        issued_on=date.fromisoformat(request.POST["issued_on"]) if request.POST.get("issued_on")
                        else None,
                        expires_on=date.fromisoformat(request.POST["expires_on"]) if request.POST.get("expires_on")
                        else None)
    except DomainError as error:
        return client_home(request, kyc_error=error.detail, status=error.status)
    except ValueError:
        return client_home(request, kyc_error="Dates are YYYY-MM-DD.", status=400)
    return redirect("client-home")


@require_http_methods(["POST"])
def client_logout(request):
    customer_logout(request)
    return redirect("client-login")


# --- Administration (issue #14): promo codes and fraud settings, through the platform API's serializers and saves.


def _split(text: str) -> list[str]:
    return [part for part in text.replace(",", " ").split() if part]


class PromoCodeListView(WorkspaceMixin, View):
    """Promo codes with their group, window and uses; the form to create one (platform.manage_promo_codes)."""

    required_permission = "platform.manage_promo_codes"
    template_name = "workspace/admin/promo_codes.html"

    def context(self, **extra):
        return {"codes": selectors.promo_code_list(), "groups": CustomerGroup.objects.all(),
                "values": {}, "errors": {}, **extra}

    def get(self, request):
        return render(request, self.template_name, self.context())

    def post(self, request):
        data = PromoCodeSerializer(data=request.POST)
        try:
            data.is_valid(raise_exception=True)
        except ValidationError as error:
            return refused(request, self.template_name, self.context(values=request.POST), error)
        code = services.promo_code_create(by=request.user, **data.validated_data)
        messages.success(request, f"Promo code {code.code} created: it puts new customers in {code.group.name}.")
        return redirect("admin-promo-codes")


class PromoCodeDetailView(WorkspaceMixin, View):
    required_permission = "platform.manage_promo_codes"
    template_name = "workspace/admin/promo_code.html"

    def get(self, request, pk: int):
        code = get_object_or_404(selectors.promo_code_list(), pk=pk)
        return render(request, self.template_name, {"code": code, "groups": CustomerGroup.objects.all(),
                                                    "values": None, "errors": {}})

    def post(self, request, pk: int):
        code = get_object_or_404(selectors.promo_code_list(), pk=pk)
        data = PromoCodeSerializer(code, data=request.POST)
        try:
            data.is_valid(raise_exception=True)
        except ValidationError as error:
            return refused(request, self.template_name, {"code": code, "groups": CustomerGroup.objects.all(),
                                                         "values": request.POST}, error)
        code = services.promo_code_update(promo_code=code, by=request.user, **data.validated_data)
        messages.success(request, f"Promo code {code.code} saved{'' if code.is_active else ' (inactive)'}.")
        return redirect("admin-promo-code", pk=code.pk)


FRAUD_FIELDS = ("weight_affiliate_lead_id", "weight_email", "weight_phone", "weight_country", "reject_threshold",
                "flag_threshold")


class FraudSettingsPageView(WorkspaceMixin, View):
    """Registration paths (which gates run per source, default group, countries, rate) and the fraud settings
    (duplicate weights and thresholds, disposable-domain lists) — platform.manage_fraud_rules."""

    required_permission = "platform.manage_fraud_rules"
    template_name = "workspace/admin/fraud.html"

    def context(self, **extra):
        return {"settings": selectors.fraud_settings_get(), "paths": selectors.registration_path_list(),
                "groups": CustomerGroup.objects.all(), "weights": FRAUD_FIELDS, "values": None, "errors": {}, **extra}

    def get(self, request):
        return render(request, self.template_name, self.context())

    def post(self, request):
        post, verb = request.POST, request.POST.get("verb")
        if verb == "settings":
            payload = {k: post.get(k, "") for k in FRAUD_FIELDS}
            payload.update(blocked_domains=_split(post.get("blocked_domains", "")),
                           allowed_domains=_split(post.get("allowed_domains", "")),
                           strict_phone_validation=post.get("strict_phone_validation") == "on")
            data = FraudSettingsSerializer(FraudSettings.current(), data=payload, partial=True)
            done = "Fraud settings saved; they apply to the next registration."
        elif verb == "path":
            path = get_object_or_404(RegistrationPath, pk=parse_id(post.get("path")) or 0)
            payload = {"enabled": post.get("enabled") == "on", "check_disposable": post.get("check_disposable") == "on",
                       "check_duplicates": post.get("check_duplicates") == "on",
                       "default_group": post.get("default_group") or None,
                       "allowed_countries": [c.upper() for c in _split(post.get("allowed_countries", ""))],
                       "rate_limit": post.get("rate_limit", "")}
            data = RegistrationPathSerializer(path, data=payload, partial=True)
            done = f"Registration path “{path.source}” saved."
        else:
            raise Http404
        try:
            data.is_valid(raise_exception=True)
        except ValidationError as error:
            return refused(request, self.template_name, self.context(values=post, verb=verb,
                                                                     path_id=post.get("path")), error)
        if verb == "settings":
            services.fraud_settings_update(values=data.validated_data, by=request.user)
        else:
            services.registration_path_update(path=data.instance, by=request.user, **data.validated_data)
        messages.success(request, done)
        return redirect("admin-fraud")
