"""Workspace pages of the staff account: the second step of the login (2FA code) and 2FA enrolment."""

from __future__ import annotations

import io
import zoneinfo

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from brokercrm.workspace import WorkspaceMixin

from . import services, twofactor


class CodeForm(forms.Form):
    code = forms.CharField(max_length=20, label="Code",
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric",
                                                         "autofocus": True}))


def _next_url(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                   require_https=request.is_secure()):
        return target
    return settings.LOGIN_REDIRECT_URL


class VerifyView(LoginRequiredMixin, View):
    """Step two of the login for users with a device: an authenticator code or one recovery code."""

    template_name = "workspace/2fa_verify.html"

    def get(self, request):
        return render(request, self.template_name, {"form": CodeForm(), "next": _next_url(request)})

    def post(self, request):
        form = CodeForm(request.POST)
        device = twofactor.verify(request.user, form.data.get("code")) if form.is_valid() else None
        if device is None:
            form.add_error("code", "The code is wrong or expired (after several failures, wait before retrying).")
            return render(request, self.template_name, {"form": form, "next": _next_url(request)}, status=400)
        twofactor.session_verified(request, device)
        return redirect(_next_url(request))


def _qr_svg(uri: str) -> str:
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode()


class EnrolView(LoginRequiredMixin, View):
    """Enrol an authenticator app: QR code (or the otpauth URI and secret), confirm with a code, then the
    recovery codes, shown once."""

    template_name = "workspace/2fa_enrol.html"

    def _context(self, request, form=None):
        user = request.user
        if twofactor.has_device(user):
            return {"enrolled": True}
        device = twofactor.enrolment_device(user)
        from base64 import b32encode

        return {"enrolled": False, "form": form or CodeForm(), "uri": device.config_url,
                "secret": b32encode(device.bin_key).decode(), "qr": _qr_svg(device.config_url),
                "required": twofactor.two_factor_required(user), "next": _next_url(request)}

    def get(self, request):
        return render(request, self.template_name, self._context(request))

    def post(self, request):
        if twofactor.has_device(request.user):
            return redirect(twofactor.ENROL_URL)
        form = CodeForm(request.POST)
        try:
            if not form.is_valid():
                raise twofactor.TwoFactorError("Enter the code.")
            codes = twofactor.enrolment_confirm(user=request.user, token=form.cleaned_data["code"])
        except twofactor.TwoFactorError as exc:
            form.add_error("code", exc.detail)
            return render(request, self.template_name, self._context(request, form), status=400)
        device = twofactor.confirmed_totp(request.user)
        twofactor.session_verified(request, device)
        return render(request, self.template_name, {"enrolled": True, "recovery_codes": codes,
                                                    "next": _next_url(request)})


class ProfileView(WorkspaceMixin, View):
    """The staff member's own profile: the time zone the workspace shows times in (#14)."""

    template_name = "workspace/profile.html"

    def _context(self, request, error: str = "", selected: str | None = None) -> dict:
        current = request.user.time_zone
        return {"zones": sorted(zoneinfo.available_timezones()), "selected": current if selected is None else selected,
                "default_zone": settings.TIME_ZONE, "error": error, "now": timezone.now()}

    def get(self, request):
        return render(request, self.template_name, self._context(request))

    def post(self, request):
        value = request.POST.get("time_zone", "")
        try:
            services.user_time_zone_set(user=request.user, time_zone=value)
        except services.TeamsError as error:
            return render(request, self.template_name, self._context(request, error.detail, value[:64]), status=400)
        messages.success(request, f"Times are now shown in {value or settings.TIME_ZONE}.")
        return redirect("account-profile")
