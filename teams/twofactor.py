"""Staff two-factor authentication: TOTP (django-otp) with single-use recovery codes.

Who needs a second factor:
- everyone who has confirmed a device (their password alone no longer signs in: the workspace asks for a code,
  `POST /api/auth/token` needs `otp`);
- every user whose role has `requires_2fa`;
- with `STAFF_2FA_ENFORCED` (on by default when DEBUG is off): superusers and every role that can approve money
  or manage users and roles (`SENSITIVE_PERMISSIONS`). Those roles also cannot be saved without `requires_2fa`.

A user who needs 2FA and has no device is sent to the enrolment page after the password and can do nothing else.
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.shortcuts import redirect
from django.utils.http import urlencode
from django_otp import login as otp_login
from django_otp import match_token, user_has_device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from brokercrm.api.errors import error_body
from brokercrm.errors import DomainError

SENSITIVE_PERMISSIONS = frozenset({
    "finance.approve_transactions",
    "administration.manage_users",
    "administration.manage_roles",
})
RECOVERY_CODE_COUNT = 10
SESSION_KEY = "staff_2fa"
OK, VERIFY, ENROL = "ok", "verify", "enrol"


class TwoFactorError(DomainError):
    """A second factor refused: the code is wrong or expired (at login: 401)."""

    code = "invalid_otp"
    status = 401


class EnrolmentCodeWrong(TwoFactorError):
    """The code typed while enrolling is wrong: invalid input, not a failed login."""

    status = 400


class EnrolmentRestart(TwoFactorError):
    code = "validation_error"
    status = 400


class OtpRequired(TwoFactorError):
    code = "otp_required"
    status = 401


class OtpEnrollmentRequired(TwoFactorError):
    code = "otp_enrollment_required"
    status = 403


def role_is_sensitive(role) -> bool:
    """Whether a role can approve money or manage users/roles (production requires 2FA for it)."""
    return role is not None and bool(SENSITIVE_PERMISSIONS & set(role.permissions or ()))


def role_check(role) -> None:
    """With STAFF_2FA_ENFORCED, a sensitive role must carry requires_2fa (raises TeamsError otherwise)."""
    if settings.STAFF_2FA_ENFORCED and role_is_sensitive(role) and not role.requires_2fa:
        from .services import TeamsError

        raise TeamsError(
            "Roles that can approve transactions or manage users and roles must require two-factor authentication.",
            fields={"requires_2fa": ["Must be true for a role with "
                                     + ", ".join(sorted(SENSITIVE_PERMISSIONS & set(role.permissions))) + "."]},
        )


def two_factor_required(user) -> bool:
    """Whether `user` must sign in with a second factor (whether or not they have enrolled yet)."""
    role = getattr(user, "role", None)
    if role is not None and role.requires_2fa:
        return True
    return bool(settings.STAFF_2FA_ENFORCED and (user.is_superuser or role_is_sensitive(role)))


def has_device(user) -> bool:
    return user_has_device(user, confirmed=True)


def login_state(user) -> str:
    """After the password: OK (no second factor needed), VERIFY (ask for a code) or ENROL (must enrol first)."""
    if has_device(user):
        return VERIFY
    return ENROL if two_factor_required(user) else OK


# --- enrolment ------------------------------------------------------------------------------------------------


def enrolment_device(user) -> TOTPDevice:
    """The user's pending (unconfirmed) authenticator, created on first call; confirmed devices are untouched."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


@transaction.atomic
def enrolment_confirm(*, user, token: str) -> list[str]:
    """Confirm the pending authenticator with a current code; returns fresh recovery codes (shown once).

    Replaces any earlier authenticator and recovery codes. Audited (without secrets)."""
    from .services import audit_record

    device = TOTPDevice.objects.select_for_update().filter(user=user, confirmed=False).order_by("-pk").first()
    if device is None:
        raise EnrolmentRestart("Start the enrolment again.")
    if not device.verify_token((token or "").strip().replace(" ", "")):
        raise EnrolmentCodeWrong("The code is wrong or expired.")
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    codes = recovery_codes_replace(user=user)
    audit_record(by=user, action="user.2fa_enabled", obj=user, before=None, after={"device": "totp"})
    return codes


def recovery_codes_replace(*, user) -> list[str]:
    """New single-use recovery codes (a django-otp static device); the old ones stop working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name="Recovery codes", confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


# --- verification ---------------------------------------------------------------------------------------------


def verify(user, token: str | None):
    """The device (authenticator or recovery code, which is then used up) that accepts `token`, or None.

    django-otp throttles each device after failures (growing delays), so codes cannot be brute-forced."""
    token = (token or "").strip().replace(" ", "").lower()
    if not token or len(token) > 16:
        return None
    return match_token(user, token)


def token_login_check(user, token: str | None) -> None:
    """`POST /api/auth/token`: a user with a device must send a valid `otp`; a user who must enrol cannot get a
    token before enrolling in the workspace. Raises TwoFactorError with the API code."""
    state = login_state(user)
    if state == ENROL:
        raise OtpEnrollmentRequired("Two-factor authentication is required for this account: enrol in the "
                                    "workspace (/account/2fa/) first.")
    if state == VERIFY:
        if not token:
            raise OtpRequired("This account uses two-factor authentication: send the current code as `otp`.")
        if verify(user, token) is None:
            raise TwoFactorError("The two-factor code is wrong or expired.")


def session_verified(request, device) -> None:
    """Mark the session as having passed the second factor."""
    otp_login(request, device)
    request.session[SESSION_KEY] = {"user": request.user.pk, "state": OK}


def session_state(request) -> str:
    """The session's 2FA state, computed once per login and kept in the session."""
    user = request.user
    stored = request.session.get(SESSION_KEY)
    if isinstance(stored, dict) and stored.get("user") == user.pk and stored.get("state") == OK:
        return OK
    state = OK if getattr(user, "is_verified", lambda: False)() else login_state(user)
    request.session[SESSION_KEY] = {"user": user.pk, "state": state}
    return state


# --- the middleware -------------------------------------------------------------------------------------------

VERIFY_URL = "/login/verify/"
ENROL_URL = "/account/2fa/"
_ALWAYS_OPEN = ("/login/", "/logout/", "/static/", "/api/health", "/api/auth/token", "/client/", "/api/customer/",
                "/api/payments/", "/favicon.ico")


class TwoFactorMiddleware:
    """A staff session that still owes its second factor (or its enrolment) opens nothing but the verify/enrol
    pages and logout: pages redirect there, API calls answer 401 `otp_required` / 403 `otp_enrollment_required`.

    Token-authenticated API calls carry no session; their second factor was checked when the token was issued."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path
        if path.startswith(_ALWAYS_OPEN) and not path.startswith(VERIFY_URL):
            return self.get_response(request)
        if path.startswith("/api/") and request.META.get("HTTP_AUTHORIZATION"):
            return self.get_response(request)
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated or not hasattr(user, "holds"):
            if path.startswith(VERIFY_URL):
                return redirect(settings.LOGIN_URL)
            return self.get_response(request)
        state = session_state(request)
        if state == OK:
            if path.startswith(VERIFY_URL):
                return redirect(settings.LOGIN_REDIRECT_URL)
            return self.get_response(request)
        target = VERIFY_URL if state == VERIFY else ENROL_URL
        if path.startswith(target):
            return self.get_response(request)
        if path.startswith("/api/"):
            error = (OtpRequired("Enter your two-factor code in the workspace first.") if state == VERIFY
                     else OtpEnrollmentRequired("Enrol in two-factor authentication in the workspace first."))
            return JsonResponse(error_body(error.code, error.detail), status=error.status)
        next_url = request.get_full_path() if request.method == "GET" else settings.LOGIN_REDIRECT_URL
        return redirect(f"{target}?{urlencode({'next': next_url})}")


def forget_second_factor(sender, request, user, **kwargs):
    """Every password login starts without a second factor, even in a session that had one."""
    from django_otp import DEVICE_ID_SESSION_KEY

    if request is not None and hasattr(request, "session"):
        request.session.pop(DEVICE_ID_SESSION_KEY, None)
        request.session.pop(SESSION_KEY, None)
        if hasattr(user, "otp_device"):
            user.otp_device = None


def confirmed_totp(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


@transaction.atomic
def two_factor_reset(*, by, user) -> None:
    """Remove the user's authenticator and recovery codes (a lost phone); they enrol again at the next login if
    they need 2FA. Audited."""
    from .services import audit_record

    TOTPDevice.objects.filter(user=user).delete()
    StaticDevice.objects.filter(user=user).delete()
    audit_record(by=by, action="user.2fa_reset", obj=user, before=None, after=None)
