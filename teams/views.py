"""Workspace pages of the staff account (the second step of the login, 2FA enrolment) and the administration
pages of teams: the team tree, users, roles, the audit log."""

from __future__ import annotations

import io
import zoneinfo
from datetime import datetime as _datetime

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from rest_framework.exceptions import ValidationError

from brokercrm.adminpages import SECTIONS, refused
from brokercrm.inputs import parse_id
from brokercrm.workspace import WorkspaceMixin

from . import selectors, services, twofactor
from .api.serializers import AuditOut, RoleIn, UserIn, UserPatch
from .constants import CATEGORIES, PERMISSIONS, ApprovalLevel, EditScope, PiiLevel, ViewScope
from .models import AuditLog, Role, Team


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


# --- Administration (issue #14): the team tree, users, roles and the audit log, calling the platform API's services.

# Words for what a role grants beyond its editor (PrivilegeEscalation.beyond): catalog codes and rank fields.
_RANK_WORDS = {
    "customer_view_scope": "a wider customer view scope",
    "customer_edit_scope": "a wider customer edit scope",
    "pii_email": "more of customers' email addresses",
    "pii_phone": "more of customers' phone numbers",
    "can_export_pii": "exporting personal data",
    "approval_level": "a higher approval level",
}
_DESCRIPTIONS = {p.code: p.description for p in PERMISSIONS}


def escalation_words(error) -> list[str]:
    """What a privilege-escalation refusal is about, in words ("Approve or reject transactions …")."""
    return [_RANK_WORDS.get(item) or (f"{_DESCRIPTIONS[item]} ({item})" if item in _DESCRIPTIONS else item)
            for item in getattr(error, "beyond", []) or []]


def _refuse(request, template, ctx, error):
    status = {"privilege_escalation": 403, "team_cycle": 409}.get(getattr(error, "code", ""), 400)
    ctx = {**ctx, "escalation": escalation_words(error)}
    return refused(request, template, ctx, error, status=status)


class AdministrationView(WorkspaceMixin, View):
    """The administration index: the sections the viewer may open (403 when none)."""

    def get(self, request):
        from django.urls import reverse

        sections = [{"label": label, "url": reverse(name), "description": text}
                    for label, name, code, text in SECTIONS if request.user.holds(code)]
        if not sections:
            raise PermissionDenied
        return render(request, "workspace/admin/index.html", {"sections": sections})


def _reach(user) -> list[str] | None:
    """The subtree roots where `user` may shape teams and place users; None: everywhere. Display only: the
    services decide (and refuse in words)."""
    return None if services.tree_unrestricted(user) else selectors.team_paths_for(user=user)


def _in_reach(team: Team, reach) -> bool:
    return reach is None or any(team.path.startswith(root) for root in reach)


class TeamTreeView(WorkspaceMixin, View):
    """The team tree; create, rename and move teams within the viewer's subtree (administration.manage_teams)."""

    required_permission = "administration.view_teams"
    template_name = "workspace/admin/teams.html"

    def context(self, request, **extra):
        reach = _reach(request.user)
        teams = list(selectors.team_list(user=request.user).annotate(members_count=Count("members")))
        for team in teams:
            team.indent = team.depth - 1
            team.editable = _in_reach(team, reach)
            team.descendants = sum(1 for t in teams if t.path.startswith(team.path) and t.pk != team.pk)
        return {"teams": teams, "parents": [t for t in teams if t.editable], "may_root": reach is None,
                "can_manage": request.user.holds("administration.manage_teams"), "values": {}, "errors": {},
                **extra}

    def get(self, request):
        return render(request, self.template_name, self.context(request))

    def post(self, request):
        if not request.user.holds("administration.manage_teams"):
            raise PermissionDenied
        verb, post = request.POST.get("verb", ""), request.POST
        ctx = self.context(request, values=post, verb=verb)
        name = post.get("name", "").strip()
        try:
            if verb == "create":
                if not name:
                    raise services.TeamsError("Give the team a name.", fields={"name": ["Give the team a name."]})
                parent = _team_or_none(post.get("parent"))
                team = services.team_create(by=request.user, name=name[:120], parent=parent)
                messages.success(request, f"Team “{team.name}” created"
                                          f"{f' under {parent.name}' if parent else ' as a root team'}.")
            elif verb in ("rename", "move"):
                team = _team_or_none(post.get("team"))
                if team is None:
                    raise Http404
                if verb == "rename":
                    if not name:
                        raise services.TeamsError("Give the team a name.", fields={"name": ["Give the team a name."]})
                    old = team.name
                    services.team_update(by=request.user, team=team, name=name[:120])
                    messages.success(request, f"Team “{old}” renamed to “{name[:120]}”.")
                else:
                    parent = _team_or_none(post.get("parent"))
                    with transaction.atomic():
                        services.team_move(by=request.user, team=team, new_parent=parent)
                    messages.success(request, f"Team “{team.name}” moved "
                                              f"{f'under {parent.name}' if parent else 'to the top level'}.")
            else:
                raise Http404
        except services.TeamsError as error:
            return _refuse(request, self.template_name, ctx, error)
        return redirect("admin-teams")


def _team_or_none(value) -> Team | None:
    if value in (None, ""):
        return None
    pk = parse_id(value)
    team = Team.objects.filter(pk=pk).first() if pk else None
    if team is None:
        raise services.TeamsError("Choose a team from the list.", fields={"parent": ["Choose a team from the list."]})
    return team


def _choices(request) -> dict:
    reach = _reach(request.user)
    return {"roles": Role.objects.all(), "teams": [t for t in Team.objects.all() if _in_reach(t, reach)]}


def _user_form_data(post, *, with_password: bool) -> dict:
    data = {k: post.get(k, "") for k in ("email", "first_name", "last_name")}
    data["role"] = post.get("role") or None
    data["team"] = post.get("team") or None
    if with_password:
        data["password"] = post.get("password", "")
    return data


class UserListView(WorkspaceMixin, View):
    """Staff users (search, role and team filters, 50 a page) and the form to create one."""

    required_permission = "administration.view_teams"
    template_name = "workspace/admin/users.html"

    def context(self, request, **extra):
        qs = selectors.user_list(user=request.user)
        q = request.GET.get("q", "").strip()
        if q:
            qs = qs.filter(Q(email__icontains=q) | Q(first_name__icontains=q) | Q(last_name__icontains=q))
        filters, errors = {}, {}
        for key in ("role", "team"):
            raw = request.GET.get(key, "")
            if raw:
                if parse_id(raw) is None:
                    errors[key] = [f"Choose a {key} from the list."]
                else:
                    filters[key] = parse_id(raw)
        if filters.get("role"):
            qs = qs.filter(role_id=filters["role"])
        if filters.get("team"):
            team = Team.objects.filter(pk=filters["team"]).first()
            qs = qs.filter(team__path__startswith=team.path) if team else qs.none()
        page = Paginator(qs.order_by("email"), 50).get_page(request.GET.get("page"))
        query = request.GET.copy()
        query.pop("page", None)
        return {"page": page, "q": q, "filters": request.GET, "filter_errors": errors, "query": query.urlencode(),
                "can_manage": request.user.holds("administration.manage_users"), "values": {}, "errors": {},
                "all_roles": Role.objects.all(), "all_teams": Team.objects.all(), **_choices(request), **extra}

    def get(self, request):
        ctx = self.context(request)
        return render(request, self.template_name, ctx, status=400 if ctx["filter_errors"] else 200)

    def post(self, request):
        if not request.user.holds("administration.manage_users"):
            raise PermissionDenied
        ctx = self.context(request, values=request.POST)
        data = UserIn(data=_user_form_data(request.POST, with_password=True))
        try:
            data.is_valid(raise_exception=True)
            user = services.user_create(by=request.user, **data.validated_data)
        except (ValidationError, services.TeamsError) as error:
            return _refuse(request, self.template_name, ctx, error)
        messages.success(request, f"User {user.email} created"
                                  f"{f' as {user.role.name}' if user.role else ''}"
                                  f"{f' in {user.team.name}' if user.team else ''}.")
        return redirect("admin-user", pk=user.pk)


class UserDetailView(WorkspaceMixin, View):
    """One staff user: name, role and team; deactivate or reactivate; reset the password. Each change passes
    teams.services.user_update (escalation guard and subtree rules), refusals shown in words."""

    required_permission = "administration.manage_users"
    template_name = "workspace/admin/user_detail.html"

    def target(self, pk):
        target = selectors.user_list(user=self.request.user).filter(pk=pk).first()
        if target is None:
            raise Http404
        return target

    def context(self, request, target, **extra):
        notice = []
        try:
            services.user_edit_check(by=request.user, target=target)
        except services.PrivilegeEscalation as error:
            notice = [error.detail, *escalation_words(error)]
        return {"target": target, "notice": notice, "values": {}, "errors": {}, "self_edit": target.pk ==
                request.user.pk, **_choices(request), **extra}

    def get(self, request, pk: int):
        return render(request, self.template_name, self.context(request, self.target(pk)))

    def post(self, request, pk: int):
        target = self.target(pk)
        verb = request.POST.get("verb", "")
        ctx = self.context(request, target, values=request.POST, verb=verb)
        if verb == "update":
            raw = _user_form_data(request.POST, with_password=False)
            raw.pop("email")
            serializer = UserPatch(data=raw, partial=True)
            done = "Saved: name, role and team of {email}."
        elif verb in ("deactivate", "activate"):
            serializer = UserPatch(data={"is_active": verb == "activate"}, partial=True)
            done = "{email} " + ("can sign in again." if verb == "activate" else
                                 "is deactivated: signed out everywhere, API tokens revoked.")
        elif verb == "password":
            serializer = UserPatch(data={"password": request.POST.get("password", "")}, partial=True)
            done = "Password of {email} reset: their sessions end and their API tokens are revoked."
        else:
            raise Http404
        try:
            serializer.is_valid(raise_exception=True)
            if verb == "password" and not serializer.validated_data.get("password"):
                raise services.TeamsError("Type the new password.", fields={"password": ["Type the new password."]})
            services.user_update(by=request.user, user=target, **serializer.validated_data)
        except (ValidationError, services.TeamsError) as error:
            return _refuse(request, self.template_name, ctx, error)
        messages.success(request, done.format(email=target.email))
        return redirect("admin-user", pk=target.pk)


def _role_form_data(post) -> dict:
    return {"name": post.get("name", "").strip(), "permissions": post.getlist("permissions"),
            **{k: post.get(k, "") for k in ("customer_view_scope", "customer_edit_scope", "pii_email", "pii_phone",
                                            "approval_level")},
            "can_export_pii": post.get("can_export_pii") == "on", "requires_2fa": post.get("requires_2fa") == "on"}


def _role_form_context(role_values) -> dict:
    chosen = set(role_values.get("permissions") or [])
    return {"categories": [{"name": c, "permissions": [{"code": p.code, "description": p.description,
                                                        "checked": p.code in chosen}
                                                       for p in PERMISSIONS if p.category == c]}
                           for c in CATEGORIES],
            "scope_choices": {"customer_view_scope": ViewScope.values, "customer_edit_scope": EditScope.values,
                              "pii_email": PiiLevel.values, "pii_phone": PiiLevel.values,
                              "approval_level": ApprovalLevel.values}}


def _role_values(role: Role | None) -> dict:
    if role is None:
        return {"permissions": [], "customer_view_scope": "own", "customer_edit_scope": "none", "pii_email": "hidden",
                "pii_phone": "hidden", "approval_level": "none"}
    return {f: getattr(role, f) for f in services.ROLE_FIELDS}


class RoleListView(WorkspaceMixin, View):
    """Roles with what each grants, and the form to create one (the escalation guard refuses in words)."""

    required_permission = "administration.manage_roles"
    template_name = "workspace/admin/roles.html"

    def context(self, request, values, **extra):
        roles = Role.objects.annotate(holders=Count("users"))
        return {"roles": roles, "values": values, "errors": {}, **_role_form_context(values), **extra}

    def get(self, request):
        return render(request, self.template_name, self.context(request, _role_values(None)))

    def post(self, request):
        values = _role_form_data(request.POST)
        ctx = self.context(request, values)
        data = RoleIn(data=values)
        try:
            data.is_valid(raise_exception=True)
            role = services.role_create(by=request.user, **data.validated_data)
        except (ValidationError, services.TeamsError) as error:
            return _refuse(request, self.template_name, ctx, error)
        messages.success(request, f"Role “{role.name}” created with {len(role.permissions)} permissions.")
        return redirect("admin-role", pk=role.pk)


class RoleDetailView(WorkspaceMixin, View):
    required_permission = "administration.manage_roles"
    template_name = "workspace/admin/role_detail.html"

    def get(self, request, pk: int):
        role = Role.objects.filter(pk=pk).first()
        if role is None:
            raise Http404
        values = _role_values(role)
        return render(request, self.template_name, {"role": role, "values": values, "errors": {},
                                                    "holders": role.users.count(), **_role_form_context(values)})

    def post(self, request, pk: int):
        role = Role.objects.filter(pk=pk).first()
        if role is None:
            raise Http404
        values = _role_form_data(request.POST)
        ctx = {"role": role, "values": values, "holders": role.users.count(), **_role_form_context(values)}
        data = RoleIn(data=values)
        try:
            data.is_valid(raise_exception=True)
            role = services.role_update(by=request.user, role=role, **data.validated_data)
        except (ValidationError, services.TeamsError) as error:
            return _refuse(request, self.template_name, ctx, error)
        messages.success(request, f"Role “{role.name}” saved; it applies to its {ctx['holders']} holder(s) now.")
        return redirect("admin-role", pk=role.pk)


class AuditLogView(WorkspaceMixin, View):
    """The administrative audit log: filters by actor, action, object and date range; 50 a page with the total.
    Snapshots are shown per viewer exactly as the API shows them (teams.api.serializers.AuditOut)."""

    required_permission = "administration.view_audit_log"
    template_name = "workspace/admin/audit.html"

    def get(self, request):
        qs = selectors.audit_list(user=request.user)
        params, errors = request.GET, {}
        if params.get("actor"):
            qs = qs.filter(actor__email__icontains=params["actor"].strip())
        if params.get("action"):
            qs = qs.filter(action__icontains=params["action"].strip())
        if params.get("object_type"):
            qs = qs.filter(object_type=params["object_type"])
        if params.get("object_id"):
            qs = qs.filter(object_id=params["object_id"].strip())
        for key, op in (("date_from", "gte"), ("date_to", "lt")):
            raw = params.get(key, "").strip()
            if not raw:
                continue
            try:
                day = _datetime.strptime(raw, "%Y-%m-%d")
            except ValueError:
                errors[key] = ["A date such as 2026-01-31."]
                continue
            if key == "date_to":
                from datetime import timedelta

                day += timedelta(days=1)  # the whole "to" day is included
            qs = qs.filter(**{f"created_at__{op}": timezone.make_aware(day)})
        if errors:
            qs = qs.none()
        page = Paginator(qs, 50).get_page(params.get("page"))
        entries = list(page.object_list)
        rows = [{**row, "when": entry.created_at} for row, entry in
                zip(AuditOut(entries, many=True, context={"request": request}).data, entries, strict=True)]
        query = params.copy()
        query.pop("page", None)
        object_types = (AuditLog.objects.order_by().values_list("object_type", flat=True).distinct())
        return render(request, self.template_name, {
            "page": page, "rows": rows, "filters": params, "errors": errors, "query": query.urlencode(),
            "object_types": sorted(object_types)}, status=400 if errors else 200)

