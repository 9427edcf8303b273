"""Writes of customers: activity, transitions, assignment. Registration lives here too (see the customers issue)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.utils import timezone

from brokercrm import errors
from brokercrm.actors import SYSTEM, actor_check, actor_user
from brokercrm.bulk import copy_insert
from brokercrm.errors import DomainError
from brokercrm.events import event_emit, event_emit_many
from teams.models import User
from teams.selectors import users_assignable_by
from teams.services import audit_record

from .errors import DuplicateCustomer, InvalidPromoCode
from .models import Activity, Affiliate, Customer, CustomerGroup, FraudSettings, PromoCode, RegistrationPath
from .signals import customer_created, customers_created_bulk


class CustomerError(DomainError):
    """An error of this app's services (see brokercrm.errors): invalid input, or one of the codes below."""


def email_canonical(email: str) -> str:
    """The comparison key of an email: trimmed, lower-cased, `+tag` dropped; dots dropped for Gmail."""
    local, _, domain = email.strip().lower().partition("@")
    local = local.split("+", 1)[0]
    domain = domain.encode("idna").decode("ascii") if domain and not domain.isascii() else domain
    if domain in ("gmail.com", "googlemail.com"):
        local = local.replace(".", "")
        domain = "gmail.com"
    return f"{local}@{domain}"


def activity_record(
    *, customer: Customer, verb: str, by=None, summary: str = "", data: dict[str, Any] | None = None
) -> Activity:
    """Append an activity entry for `customer` (same transaction as the change it records). `by`: the staff user,
    `SYSTEM`, or None when no staff member acted (the customer in the client area); only a user is recorded."""
    return Activity.objects.create(
        customer=customer, actor=actor_user(by), verb=verb, summary=summary[:255], data=data or {},
        created_at=timezone.now(),
    )


@transaction.atomic
def customer_signed_in(*, customer: Customer) -> None:
    """Record a client-area sign-in: last login and activity times, and the activity entry (no staff actor)."""
    now = timezone.now()
    Customer.objects.filter(pk=customer.pk).update(last_login_at=now, last_activity_at=now)
    activity_record(customer=customer, verb="customer.login", summary="Signed in to the client area")


class ExportNotAllowed(CustomerError):
    """Exporting customers (the file carries PII) without the can_export_pii right."""

    code = "export_not_allowed"
    status = 403


class CustomerNotFound(CustomerError, errors.NotFound):
    pass


@transaction.atomic
def customer_assign(*, customer: Customer, agent, by) -> Customer:
    """Assign `customer` to `agent` (or unassign with None); the customer's team follows the agent's team.

    `by` must be able to edit the customer and assign to the agent (teams.selectors.users_assignable_by)."""
    customer = Customer.objects.editable_by(by).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if customer is None:
        raise CustomerNotFound("No such customer.")
    if agent is not None and not users_assignable_by(user=by).filter(pk=agent.pk).exists():
        raise CustomerError("You cannot assign customers to that agent.", fields={"assigned_to": ["Not assignable."]})
    previous = customer.assigned_to_id
    if previous == (agent.pk if agent else None):
        return customer
    Customer.objects.filter(pk=customer.pk).update(assigned_to=agent, team=agent.team if agent else customer.team)
    customer.refresh_from_db()
    activity_record(
        customer=customer, verb="customer.assigned", by=by,
        summary=f"Assigned to {agent}" if agent else "Unassigned",
        data={"from": previous, "to": agent.pk if agent else None},
    )
    return customer


PROFILE_FIELDS = ("first_name", "last_name", "locale", "marketing_consent")


@transaction.atomic
def customer_update(*, customer: Customer, by, **data: Any) -> Customer:
    """Edit profile fields of a customer within `by`'s edit scope (404 outside it: not even its existence leaks)."""
    locked = Customer.objects.editable_by(by).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if locked is None:
        raise CustomerNotFound("No such customer, or you may not edit it.")
    if "assigned_to" in data:
        agent_id = data.pop("assigned_to")
        agent = User.objects.filter(pk=agent_id, is_active=True).first() if agent_id else None
        if agent_id and agent is None:
            raise CustomerError("Unknown agent.", fields={"assigned_to": ["Unknown agent."]})
        if not by.holds("customers.assign"):
            raise PermissionError_("Assigning needs customers.assign.")
        locked = customer_assign(customer=locked, agent=agent, by=by)
    changed = {k: v for k, v in data.items() if k in PROFILE_FIELDS and getattr(locked, k) != v}
    if changed:
        Customer.objects.filter(pk=locked.pk).update(**changed)
        locked.refresh_from_db()
        activity_record(customer=locked, verb="customer.updated", by=by, summary="Profile updated",
                        data={"fields": sorted(changed)})
    return locked


class PermissionError_(CustomerError, errors.PermissionDenied):
    pass


class InvalidTransition(CustomerError, errors.InvalidTransition):
    pass


@transaction.atomic
def customer_transition(*, customer: Customer, pipeline: str, to: str, by, reason: str = "",
                        check_permission: bool = True, unfreeze: bool = False) -> Customer:
    """Move `customer` to status `to` in `pipeline` ("sales", "kyc", "finance").

    Locks the row first, so two concurrent moves serialize: the loser sees the new status and gets
    InvalidTransition if its move is no longer allowed. Moving to the current status is a no-op.
    `by=SYSTEM` is the system (e.g. the ledger's auto-freeze; `by=None` raises); staff callers need the
    pipeline's permission.
    Leaving finance status `frozen` is refused here (409 invalid_transition) unless `unfreeze=True`, which only
    the ledger's audited, reasoned unfreeze (`ledger.services.customer_unfreeze`) passes."""
    from django_fsm import can_proceed

    from .pipelines import PIPELINES

    spec = PIPELINES.get(pipeline)
    if spec is None:
        raise CustomerError("Unknown pipeline.", fields={"pipeline": [f"One of: {', '.join(PIPELINES)}."]})
    if to not in spec.statuses.values:
        raise CustomerError("Unknown status.", fields={"to": [f"One of: {', '.join(spec.statuses.values)}."]})
    actor_check(by)
    locked = Customer.objects.visible_to(by).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if locked is None:
        raise CustomerNotFound("No such customer.")
    current = getattr(locked, spec.field)
    if current == to:
        return locked
    if pipeline == "finance" and current == "frozen" and not unfreeze:
        raise InvalidTransition("A frozen customer leaves `frozen` only through the unfreeze, with a reason "
                                "(POST /api/backoffice/customers/<id>/unfreeze).")
    method = getattr(locked, f"{pipeline}_to_{to}", None)
    if method is None or not can_proceed(method):
        raise InvalidTransition(f"The {pipeline} status cannot move from {current} to {to}.")
    if by is not SYSTEM and check_permission:
        # The catalog permission of the pipeline (django-fsm's has_transition_perm would pass the object to
        # every backend, and guardian refuses a permission from another app label).
        if not by.holds(spec.permission):
            raise PermissionError_(f"Changing the {pipeline} status needs {spec.permission}.")
        if spec.needs_edit_scope and not Customer.objects.editable_by(by).filter(pk=locked.pk).exists():
            raise PermissionError_("This customer is outside your edit scope.")
    method()
    locked.save()
    activity_record(customer=locked, verb="status.changed", by=by, summary=f"{pipeline}: {current} → {to}",
                    data={"pipeline": pipeline, "from": current, "to": to, "reason": reason})
    event_emit("status.changed", {"customer_id": locked.pk, "pipeline": pipeline, "from": current, "to": to,
                                  "by": by.pk if by else None})
    return locked


# --- registration -----------------------------------------------------------------------------------------------

AUTOLOGIN_TTL_HOURS = 72


class InvalidAffiliate(CustomerError):
    """An affiliate registration without a valid, active affiliate API key."""

    code = "invalid_affiliate"
    status = 403


def _hash_secret(raw: str) -> str:
    import hashlib

    return hashlib.sha256(raw.encode()).hexdigest()


def affiliate_authenticate(*, api_key: str | None):
    """The active affiliate whose API key this is (compared by hash), or None."""
    if not api_key:
        return None
    return Affiliate.objects.filter(api_key_hash=_hash_secret(api_key), is_active=True).select_related("group").first()


@transaction.atomic
def affiliate_create(*, code: str, name: str, api_key: str, group=None, is_active: bool = True, by=None):
    """Create an affiliate; only the SHA-256 of its API key is stored (keys are long random strings). A staff
    caller (`by`) is audited."""
    affiliate = Affiliate.objects.create(code=code, name=name, api_key_hash=_hash_secret(api_key), group=group,
                                         is_active=is_active)
    if by is not None:
        audit_record(by=by, action="affiliate.created", obj=affiliate, before=None, after={"code": affiliate.code})
    return affiliate


def _fraud_settings_snapshot(current: FraudSettings) -> dict[str, Any]:
    return {field.name: getattr(current, field.name) for field in FraudSettings._meta.concrete_fields
            if field.name not in ("id", "updated_at")}


@transaction.atomic
def fraud_settings_update(*, values: dict[str, Any], by) -> FraudSettings:
    """Change the fraud-gate settings (values validated by the platform API), audited with before and after."""
    current = FraudSettings.objects.select_for_update().get(pk=FraudSettings.current().pk)
    before = _fraud_settings_snapshot(current)
    for key, value in values.items():
        setattr(current, key, value)
    current.save()
    audit_record(by=by, action="fraud_settings.updated", obj=current, before=before,
                 after=_fraud_settings_snapshot(current))
    return current


# --- registration reference data: groups, promo codes, paths, affiliates (platform API and administration pages)

GROUP_FIELDS = ("id", "name", "description")
PROMO_CODE_FIELDS = ("id", "code", "group", "valid_from", "valid_until", "max_uses", "uses", "is_active")
REGISTRATION_PATH_FIELDS = ("id", "source", "enabled", "default_group", "check_disposable", "check_duplicates",
                            "allowed_countries", "rate_limit")
AFFILIATE_FIELDS = ("id", "code", "name", "group", "is_active", "created_at")


def _snapshot(obj: models.Model, fields: tuple[str, ...]) -> dict[str, Any]:
    """An audit snapshot of reference data, shaped like the platform API shows it (a group by its name)."""
    out: dict[str, Any] = {}
    for name in fields:
        value = getattr(obj, name)
        if isinstance(value, models.Model):
            value = str(value)
        elif isinstance(value, date):
            value = value.isoformat()
        out[name] = value
    return out


def _reference_create(*, model: type[models.Model], fields: tuple[str, ...], by, values: dict[str, Any]):
    actor_check(by)
    obj = model._default_manager.create(**values)
    audit_record(by=by, action=f"{model._meta.model_name}.created", obj=obj, before=None, after=_snapshot(obj, fields))
    return obj


def _reference_update(*, obj, fields: tuple[str, ...], by, values: dict[str, Any]):
    """Lock the row, apply `values` (only editable fields, validated by the caller), save them, audit before/after."""
    actor_check(by)
    editable = set(fields) - {"id", "uses", "created_at", "source"}
    unknown = set(values) - editable
    if unknown:
        raise TypeError(f"Not editable: {', '.join(sorted(unknown))}")
    obj = type(obj).objects.select_for_update().get(pk=obj.pk)
    before = _snapshot(obj, fields)
    for key, value in values.items():
        setattr(obj, key, value)
    if values:
        obj.save(update_fields=list(values))
    audit_record(by=by, action=f"{obj._meta.model_name}.updated", obj=obj, before=before, after=_snapshot(obj, fields))
    return obj


@transaction.atomic
def group_create(*, name: str, description: str = "", by) -> CustomerGroup:
    """Create a customer group (audited `customergroup.created`)."""
    return _reference_create(model=CustomerGroup, fields=GROUP_FIELDS, by=by,
                             values={"name": name, "description": description})


@transaction.atomic
def group_update(*, group: CustomerGroup, by, **values: Any) -> CustomerGroup:
    """Rename or describe a group (audited `customergroup.updated`)."""
    return _reference_update(obj=group, fields=GROUP_FIELDS, by=by, values=values)


@transaction.atomic
def promo_code_create(*, code: str, group: CustomerGroup, valid_from: datetime | None = None,
                      valid_until: datetime | None = None, max_uses: int | None = None, is_active: bool = True,
                      by) -> PromoCode:
    """Create a promo code (validated by the caller: unique case-insensitively, window in order); audited."""
    return _reference_create(model=PromoCode, fields=PROMO_CODE_FIELDS, by=by,
                             values={"code": code, "group": group, "valid_from": valid_from,
                                     "valid_until": valid_until, "max_uses": max_uses, "is_active": is_active})


@transaction.atomic
def promo_code_update(*, promo_code: PromoCode, by, **values: Any) -> PromoCode:
    """Change a promo code's code, group, window, limit or activity (its uses are counted by `promo_claim` only)."""
    return _reference_update(obj=promo_code, fields=PROMO_CODE_FIELDS, by=by, values=values)


@transaction.atomic
def registration_path_update(*, path: RegistrationPath, by, **values: Any) -> RegistrationPath:
    """Change a registration path's settings (enabled, default group, gates, countries, rate); audited. The rows
    themselves exist from a data migration on (and `registration_path` recreates a missing one on a write path)."""
    return _reference_update(obj=path, fields=REGISTRATION_PATH_FIELDS, by=by, values=values)


@transaction.atomic
def affiliate_update(*, affiliate: Affiliate, by, **values: Any) -> Affiliate:
    """Change an affiliate's code, name, group or activity (never its key); audited."""
    return _reference_update(obj=affiliate, fields=AFFILIATE_FIELDS, by=by, values=values)


def promo_claim(code: str):
    """Lock the promo code row and count one use; refuses unknown, inactive, outside the window or exhausted."""
    from django.db.models import F
    from django.db.models.functions import Upper

    now = timezone.now()
    promo = (PromoCode.objects.select_for_update().annotate(ucode=Upper("code"))
             .filter(ucode=code.strip().upper()).first())
    invalid = InvalidPromoCode("This promo code is not valid.", fields={"promo_code": ["Unknown, expired or used up."]})
    if promo is None or not promo.is_active:
        raise invalid
    if (promo.valid_from and now < promo.valid_from) or (promo.valid_until and now >= promo.valid_until):
        raise invalid
    if promo.max_uses is not None and promo.uses >= promo.max_uses:
        raise invalid
    PromoCode.objects.filter(pk=promo.pk).update(uses=F("uses") + 1)
    return promo


def autologin_issue(*, customer: Customer) -> tuple[str, datetime]:
    """A fresh single-use autologin token (72 hours); returns the raw token, which is never stored."""
    import secrets

    from .models import AutologinToken

    raw = secrets.token_urlsafe(32)
    expires = timezone.now() + timedelta(hours=AUTOLOGIN_TTL_HOURS)
    AutologinToken.objects.create(customer=customer, token_hash=_hash_secret(raw), expires_at=expires)
    return raw, expires


class AutologinGone(CustomerError):
    """A login link that no longer works (410)."""

    code = "autologin_used"
    status = 410


class AutologinUsed(AutologinGone):
    code = "autologin_used"


class AutologinExpired(AutologinGone):
    code = "autologin_expired"


@transaction.atomic
def autologin_redeem(*, token: str) -> Customer:
    """Use an autologin token once: 410 autologin_used or autologin_expired otherwise (unknown = used up)."""
    from .models import AutologinToken

    row = AutologinToken.objects.select_for_update().filter(token_hash=_hash_secret(token)).select_related(
        "customer").first()
    if row is None or row.used_at is not None:
        raise AutologinUsed("This login link was already used.")
    if timezone.now() >= row.expires_at:
        raise AutologinExpired("This login link has expired.")
    row.used_at = timezone.now()
    row.save(update_fields=["used_at"])
    Customer.objects.filter(pk=row.customer_id).update(last_login_at=row.used_at, last_activity_at=row.used_at)
    activity_record(customer=row.customer, verb="customer.login", summary="Signed in with the affiliate autologin")
    return row.customer


def registration_path(source: str) -> RegistrationPath:
    """The settings row of a registration path, for the registration (write) paths. A data migration makes the rows,
    so this only recreates one deleted or flushed (e.g. by a transactional test); reads use the selectors."""
    path, _ = RegistrationPath.objects.get_or_create(source=source)
    return path


@transaction.atomic
def customer_register(*, data: dict[str, Any], source: str, affiliate=None, by=None) -> tuple[Customer, dict]:
    """Register a customer through one of the paths (organic, affiliate, promo), running that path's gates.

    Steps: the path's gate pipeline (`gates.pipeline_for`: open? → email, names, country, allowed countries, phone,
    disposable, promo claim (locked, counted exactly), duplicate score (reject ≥ 4, flag = 3 by default)) →
    create with a hashed, validated password, a trading account and activity → `customer.registered` after commit.
    Concurrent registrations of one email meet the unique constraint on the canonical email: one wins, the other is 409.
    Returns the customer and extras (autologin for affiliates)."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError
    from django.db import IntegrityError

    from . import gates

    pipeline = gates.pipeline_for(source)
    pipeline.ensure_open()
    candidate = pipeline.check(gates.Candidate.from_data(data))  # every gate of the path, duplicates included
    email, canonical, phone, country = candidate.email, candidate.email_canonical, candidate.phone, candidate.country
    promo, match = candidate.promo, candidate.match
    group = promo.group if promo else pipeline.default_group
    if affiliate is not None and affiliate.group_id and not promo:
        group = affiliate.group

    customer = Customer(
        first_name=candidate.first_name, last_name=candidate.last_name, email=email,
        email_canonical=canonical, phone=phone, country=country, locale=data.get("locale") or "en",
        source=source, group=group, affiliate=affiliate, affiliate_lead_id=candidate.affiliate_lead_id,
        promo_code=promo, marketing_consent=bool(data.get("marketing_consent", False)),
    )
    if match:  # flagged (a match at or above the reject threshold was refused by the duplicates gate)
        customer.possible_duplicate_of_id = match.customer_id
        customer.duplicate_score = match.score
    try:
        validate_password(data["password"], customer)
    except ValidationError as exc:
        raise CustomerError("The password is too weak.", fields={"password": list(exc.messages)}) from None
    customer.set_password(data["password"])
    try:
        with transaction.atomic():
            customer.save()
    except IntegrityError:
        raise DuplicateCustomer("A customer with these details already exists.") from None
    # In-transaction hook: ledger opens the trading account (a failure rolls the registration back).
    customer_created.send(sender=Customer, customer=customer, currency=data.get("currency") or "USD")
    activity_record(customer=customer, verb="customer.registered", by=by,
                    summary=f"Registered ({source})" + (f" with promo {promo.code}" if promo else ""),
                    data={"source": source, "group": group.name if group else None})
    if customer.possible_duplicate_of_id and match is not None:
        reasons = ", ".join(match.reasons)
        activity_record(customer=customer, verb="customer.possible_duplicate",
                        summary=f"Possible duplicate of #{match.customer_id} (score {match.score}: {reasons})",
                        data={"of": match.customer_id, "score": match.score, "reasons": list(match.reasons)})
        activity_record(customer=Customer(pk=match.customer_id), verb="customer.possible_duplicate",
                        summary=f"Possible duplicate registered: #{customer.pk} (score {match.score})",
                        data={"duplicate": customer.pk, "score": match.score})
    extras: dict[str, Any] = {}
    if affiliate is not None:
        raw, expires = autologin_issue(customer=customer)
        extras.update(autologin_token=raw, autologin_expires_at=expires)
    event_emit("customer.registered", {"customer_id": customer.pk, "source": source,
                                       "group": group.name if group else None, "country": country})
    return customer, extras


# --- bulk creation (imports) -------------------------------------------------------------------------------------


def _group_names(group_ids) -> dict[int, str]:
    """The names of these groups (for `customer.registered`): only the ones named, none read when none is."""
    ids = {pk for pk in group_ids if pk}
    return dict(CustomerGroup.objects.filter(pk__in=ids).values_list("id", "name")) if ids else {}


def customers_bulk_create(*, rows: list[dict], by, source: str = "import",
                          data: dict | None = None) -> list[Customer]:
    """Create already-validated customers in bulk with their trading accounts and a registration activity each
    (its data `{"source": source}` plus `data`, e.g. the import job); announce `customer.registered` after commit.
    Raises IntegrityError when a canonical email already exists (the caller falls back to one row at a time inside
    savepoints)."""

    customers = Customer.objects.bulk_create([Customer(source=source, **row) for row in rows])
    customers_created_bulk.send(sender=Customer, customers=customers)  # ledger opens the trading accounts
    now = timezone.now()
    Activity.objects.bulk_create([
        Activity(customer=c, actor=by, verb="customer.registered", summary=f"Registered ({source})",
                 data={**(data or {}), "source": source}, created_at=now) for c in customers
    ])
    groups = _group_names(c.group_id for c in customers)
    event_emit_many("customer.registered", [{"customer_id": c.pk, "source": source, "country": c.country,
                                             "group": groups.get(c.group_id)} for c in customers])
    return customers


def customers_insert_bulk(*, rows: list[dict], by, source: str = "import", data: dict | None = None) -> list[int]:
    """`customers_bulk_create` as set-based SQL (PostgreSQL; the import's path): one COPY for the customers (their ids
    taken from the sequence first), the trading accounts (ledger's in-transaction hook, given the ids), one COPY for
    the activity entries;
    `customer.registered` after commit. `rows` hold attnames (`group_id`, `assigned_to_id`, …). Returns the new ids
    in the order of `rows`. Raises IntegrityError when a canonical email already exists, as the ORM form does."""
    if not rows:
        return []
    keys = sorted({k for row in rows for k in row})
    defaults = {k: Customer._meta.get_field(k).get_default() for k in keys}  # rows may leave a field out
    now = timezone.now()
    ids = copy_insert(Customer, {k: [row.get(k, defaults[k]) for row in rows] for k in keys},
                        constants={"source": source, "registered_at": now})
    customers_created_bulk.send(sender=Customer, customers=None, customer_ids=ids)  # ledger opens the accounts
    copy_insert(Activity, {"customer_id": ids},
                  constants={"actor_id": getattr(by, "pk", None), "verb": "customer.registered",
                             "summary": f"Registered ({source})", "data": {**(data or {}), "source": source},
                             "created_at": now})
    groups = _group_names(row.get("group_id") for row in rows)
    event_emit_many("customer.registered", [
        {"customer_id": pk, "source": source, "country": row["country"],
         "group": groups.get(row["group_id"]) if row.get("group_id") else None}
        for pk, row in zip(ids, rows, strict=True)])
    return ids
