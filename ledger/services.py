"""Writes of the ledger. Money moves only through these functions.

Rules: amounts are Decimal quantized to the currency's minor unit, never floats; a transaction's currency is
its account's; every move to `completed` writes balanced lines and updates the account in the same database
transaction, under a row lock on the account; repeats are harmless (idempotency keys, locked re-checks)."""

from __future__ import annotations

from datetime import timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from typing import NamedTuple, cast

from django.core.exceptions import EmptyResultSet
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Field, Sum
from django.utils import timezone

from brokercrm.actors import SYSTEM, actor_check, actor_user
from brokercrm.bulk import allocate_ids, copy_insert
from brokercrm.errors import DomainError, InvalidTransition, NotFound, PermissionDenied
from brokercrm.events import event_emit
from brokercrm.rows import JoinedRow, fixed_cursor, insert_one, insert_sql, mark_saved
from customers.kyc.models import KycSettings
from customers.kyc.services import kyc_gate_check
from customers.models import Activity, Customer
from customers.services import activity_record, customer_transition
from teams.constants import APPROVAL_RANK
from teams.services import audit_record

from .models import (
    LOGIN_OFFSET,
    ApprovalRule,
    FxRate,
    LedgerLine,
    PaymentRoute,
    TradingAccount,
    Transaction,
    TxStatus,
    TxType,
)
from .money import amount_parse
from .types import GUARDED_DEBITS, TYPES

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
PENDING_DEBIT_STATES = (TxStatus.PENDING_APPROVAL, TxStatus.APPROVED, TxStatus.PROCESSING)
# Types that add to the balance: their reversals take from it (and are guarded like withdrawals).
BALANCE_CREDITS = {t for t, spec in TYPES.items() if spec.bucket == "balance" and spec.sign > 0}


class LedgerError(DomainError):
    """An error of this app's services (see brokercrm.errors): invalid input, or one of the codes below."""


class LedgerNotFound(LedgerError, NotFound):
    """Unknown, or outside the caller's view scope."""


class LedgerPermissionDenied(LedgerError, PermissionDenied):
    pass


class LedgerInvalidTransition(LedgerError, InvalidTransition):
    pass


class MakerChecker(LedgerError):
    """The creator of a transaction approving it."""

    code = "maker_checker"
    status = 403


class ApprovalLevelInsufficient(LedgerError):
    code = "approval_level_insufficient"
    status = 403


class InsufficientFunds(LedgerError):
    code = "insufficient_funds"
    status = 409


class AccountFrozen(LedgerError):
    code = "account_frozen"
    status = 409


class IdempotencyConflict(LedgerError):
    """An idempotency key reused for a different request."""

    code = "idempotency_conflict"
    status = 409


class FxRateUnavailable(LedgerError):
    """No FX rate for the currency, or a stale one: amounts cannot be compared in USD."""

    code = "fx_rate_unavailable"
    status = 409


class PaymentUnavailable(LedgerError):
    """No payment provider can take the request right now."""

    code = "payment_unavailable"
    status = 503


class PayoutProviderError(LedgerError):
    """The payout provider refused the payout; it stays manual."""

    code = "payout_provider_error"
    status = 503


def to_money(value, *, currency: str | None = None, field: str = "amount") -> Decimal:
    """A plain decimal amount (ledger.money.amount_parse) quantized to cents, with no more places than
    `currency` has. Floats are refused: they have already lost precision (API fields parse JSON numbers)."""
    if isinstance(value, float):
        raise TypeError("use Decimal or str for money, not float")
    return amount_parse(value, currency=currency, field=field)


# --- accounts ---------------------------------------------------------------------------------------------------


@transaction.atomic
def account_open(*, customer, currency: str = "USD") -> TradingAccount:
    """Open a trading account for `customer`; its login is derived from its id (unique, never reused)."""
    account = TradingAccount.objects.create(customer=customer, currency=currency.upper())
    account.login = LOGIN_OFFSET + account.pk
    TradingAccount.objects.filter(pk=account.pk).update(login=account.login)
    return account


ACCOUNT_CURRENCIES = ("USD", "EUR", "GBP")


@transaction.atomic
def account_open_further(*, customer, currency: str, by=None) -> TradingAccount:
    """Open a further trading account for `customer` (the customer, or staff `by` within their edit scope).

    The KYC gate applies (409 kyc_required when the broker requires approved KYC for it)."""

    currency = (currency or "").upper()
    if currency not in ACCOUNT_CURRENCIES:
        raise LedgerError("Unsupported currency.", fields={"currency": [f"One of: {', '.join(ACCOUNT_CURRENCIES)}."]})
    base = Customer.objects.editable_by(by) if by is not None else Customer.objects.all()  # None: the customer
    locked = base.select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if locked is None:
        raise LedgerNotFound("No such customer.")
    kyc_gate_check(customer=locked, operation="account")
    account = account_open(customer=locked, currency=currency)
    activity_record(customer=locked, verb="account.opened", by=by, summary=f"Trading account {account.login} "
                    f"({currency}) opened", data={"login": account.login, "currency": currency})
    return account


@transaction.atomic
def accounts_open_bulk(*, customers: list, currency_for=lambda customer: "USD") -> list[TradingAccount]:
    """Open one trading account per customer in two statements (bulk imports): insert, then derive logins."""
    accounts = TradingAccount.objects.bulk_create(
        [TradingAccount(customer=c, currency=currency_for(c).upper()) for c in customers]
    )
    ids = [a.pk for a in accounts]
    TradingAccount.objects.filter(pk__in=ids).update(login=F("id") + LOGIN_OFFSET)
    for account in accounts:
        account.login = LOGIN_OFFSET + account.pk
    return accounts


def accounts_open_for_ids(*, customer_ids: list[int], currency: str = "USD") -> None:
    """`accounts_open_bulk` as set-based SQL (PostgreSQL, the lead import): the accounts' ids taken from their
    sequence in one statement, each login derived from its id as `accounts_open_bulk` does, and the rows written with
    one COPY (an UPDATE of the logins afterwards cost as much again as the insert)."""
    if not customer_ids:
        return
    ids = allocate_ids(TradingAccount, len(customer_ids))
    copy_insert(TradingAccount, {"customer_id": list(customer_ids), "login": [pk + LOGIN_OFFSET for pk in ids]},
                constants={"currency": currency.upper(), "balance": Decimal("0.00"), "credit": Decimal("0.00"),
                           "created_at": timezone.now()}, ids=ids)


# --- FX and approval rules ----------------------------------------------------------------------------------------


def to_usd(amount: Decimal, currency: str) -> Decimal:
    """`amount` in US dollars at the stored rate. A rate that is missing, or older than FX_RATE_MAX_AGE_HOURS,
    is refused (409 fx_rate_unavailable naming the currency): an approval tier must not rest on a stale rate."""
    if currency == "USD":
        return amount
    row = FxRate.objects.filter(currency=currency).values("usd_rate", "updated_at").first()
    if row is None:
        raise FxRateUnavailable(f"No FX rate for {currency}.",
                          fields={"currency": [f"No {currency} exchange rate is configured."]})
    from . import conf

    max_age = timedelta(hours=conf.FX_RATE_MAX_AGE_HOURS)
    if timezone.now() - row["updated_at"] > max_age:
        raise FxRateUnavailable(f"The FX rate for {currency} is older than {conf.FX_RATE_MAX_AGE_HOURS} hours.",
                          fields={"currency": [f"The {currency} rate was last updated "
                                               f"{row['updated_at']:%Y-%m-%d %H:%M} UTC."]})
    return (amount * row["usd_rate"]).quantize(CENT, rounding=ROUND_HALF_UP)


def required_role_for(amount_usd: Decimal) -> str:
    """The approval level the band of `amount_usd` requires ([min, max) bands; the last is open-ended)."""
    for rule in ApprovalRule.objects.all():
        if amount_usd >= rule.min_amount_usd and (rule.max_amount_usd is None or amount_usd < rule.max_amount_usd):
            return rule.required_role
    return "compliance"  # no rule covers it: the strictest level


@transaction.atomic
def approval_rules_replace(*, rules: list[dict], by) -> list[ApprovalRule]:
    """Replace the approval rules. They must start at 0, be contiguous (no gap, no overlap) and end open."""
    ordered = sorted(rules, key=lambda r: Decimal(str(r["min_amount_usd"])))
    problems = []
    if not ordered:
        problems.append("At least one rule is needed.")
    expected = ZERO
    for i, rule in enumerate(ordered):
        low = to_money(rule["min_amount_usd"])
        high = None if rule.get("max_amount_usd") is None else to_money(rule["max_amount_usd"])
        if rule["required_role"] not in ("agent", "manager", "compliance"):
            problems.append(f"Rule {i + 1}: required_role is agent, manager or compliance.")
        if low != expected:
            problems.append(f"Rule {i + 1} starts at {low}, expected {expected}: "
                            "ranges must not overlap or leave gaps.")
        if high is not None and high <= low:
            problems.append(f"Rule {i + 1}: max_amount_usd must exceed min_amount_usd.")
        if high is None and i != len(ordered) - 1:
            problems.append(f"Rule {i + 1}: only the last rule may be open-ended.")
        expected = high if high is not None else expected
    if ordered and ordered[-1].get("max_amount_usd") is not None:
        problems.append("The last rule must be open-ended (max_amount_usd null).")
    if problems:
        raise LedgerError("Invalid approval rules.", fields={"rules": problems})

    before = [{"min": str(r.min_amount_usd), "max": str(r.max_amount_usd), "role": r.required_role}
              for r in ApprovalRule.objects.all()]
    ApprovalRule.objects.all().delete()
    created = ApprovalRule.objects.bulk_create([
        ApprovalRule(min_amount_usd=to_money(r["min_amount_usd"]),
                     max_amount_usd=None if r.get("max_amount_usd") is None else to_money(r["max_amount_usd"]),
                     required_role=r["required_role"]) for r in ordered
    ])
    if created:
        audit_record(by=by, action="approval_rules.replaced", obj=created[0], before={"rules": before},
                     after={"rules": [{"min": str(r.min_amount_usd), "max": str(r.max_amount_usd),
                                       "role": r.required_role} for r in created]})
    return created


# --- payment routes (platform API and the administration page) --------------------------------------------------

PAYMENT_ROUTE_FIELDS = ("country", "currency", "min_amount", "max_amount", "provider", "priority", "is_active")


def _route_snapshot(route: PaymentRoute) -> dict:
    return {f: (str(getattr(route, f)) if f in ("min_amount", "max_amount") and getattr(route, f) is not None
                else getattr(route, f)) for f in PAYMENT_ROUTE_FIELDS}


@transaction.atomic
def payment_route_create(*, by, **values) -> PaymentRoute:
    """Add a payment route (values validated by the caller's serializer); audited."""
    actor_check(by)
    route = PaymentRoute.objects.create(**{k: v for k, v in values.items() if k in PAYMENT_ROUTE_FIELDS})
    route.refresh_from_db()  # amounts as stored (two decimals)
    audit_record(by=by, action="paymentroute.created", obj=route, before=None, after=_route_snapshot(route))
    return route


@transaction.atomic
def payment_route_update(*, route: PaymentRoute, by, **values) -> PaymentRoute:
    """Change a payment route; audited with before and after."""
    actor_check(by)
    route = PaymentRoute.objects.select_for_update().get(pk=route.pk)
    before = _route_snapshot(route)
    for key, value in values.items():
        if key not in PAYMENT_ROUTE_FIELDS:
            raise TypeError(f"Not editable: {key}")
        setattr(route, key, value)
    route.save()
    route.refresh_from_db()
    audit_record(by=by, action="paymentroute.updated", obj=route, before=before, after=_route_snapshot(route))
    return route


@transaction.atomic
def payment_route_delete(*, route: PaymentRoute, by) -> None:
    """Delete a payment route; audited with what it was."""
    actor_check(by)
    before = _route_snapshot(route)
    audit_record(by=by, action="paymentroute.deleted", obj=route, before=before, after=None)
    route.delete()


def fx_rate_set(*, currency: str, usd_rate, by=None, source: str = "manual", as_of=None) -> FxRate:
    """Set how many USD one unit of `currency` is worth; `updated_at` (its freshness) becomes now."""
    rate = Decimal(str(usd_rate))
    if not rate.is_finite() or rate <= 0:
        raise LedgerError("Rates are positive.", fields={"usd_rate": ["Must be positive."]})
    obj, _ = FxRate.objects.update_or_create(currency=currency.upper(),
                                             defaults={"usd_rate": rate, "updated_at": timezone.now(),
                                                       "source": source, "as_of": as_of})
    return obj


@transaction.atomic
def fx_rates_apply(*, rates: dict[str, Decimal], source: str, as_of=None, by=None) -> int:
    """Store several rates (USD per unit) at once, e.g. the ECB's daily file; each becomes fresh now."""
    for currency, rate in sorted(rates.items()):
        fx_rate_set(currency=currency, usd_rate=rate, by=by, source=source, as_of=as_of)
    return len(rates)


# --- balances ----------------------------------------------------------------------------------------------------


def available_balance(account: TradingAccount) -> Decimal:
    """Balance less the guarded debits still pending (a withdrawal reserves its amount when created).

    A pending reversal of a balance credit (a deposit's) reserves its amount too; a withdrawal's reversal does not."""
    sql, params = _pending_debits_sql()
    with fixed_cursor() as cursor:
        cursor.execute(sql, [account.pk, *params])
        pending = cursor.fetchone()[0]
    # PostgreSQL returns a Decimal; SQLite (the embedded default) a number: read it as the model's decimals.
    return account.balance - (pending if isinstance(pending, Decimal) else Decimal(str(pending)).quantize(CENT))


@cache
def _pending_debits_sql() -> tuple[str, list[str]]:
    """The sum of an account's pending debits (see `available_balance`): fixed SQL, built once per process, because
    this runs under the row lock of every guarded debit and the ORM compiled the aggregate on each call."""
    q = connection.ops.quote_name
    states, guarded, credits = [str(s) for s in PENDING_DEBIT_STATES], sorted(GUARDED_DEBITS), sorted(BALANCE_CREDITS)

    def among(values):
        return "(" + ", ".join(["%s"] * len(values)) + ")"

    sql = (f"SELECT COALESCE(SUM({q('amount')}), 0) FROM {q(Transaction._meta.db_table)} "
           f"WHERE {q('account_id')} = %s AND {q('status')} IN {among(states)} "
           f"AND (({q('type')} IN {among(guarded)} AND {q('reverses_id')} IS NULL) "
           f"OR ({q('type')} IN {among(credits)} AND {q('reverses_id')} IS NOT NULL))")
    return sql, [*states, *(str(t) for t in guarded), *(str(t) for t in credits)]


def _post(tx: Transaction, account: TradingAccount, *, activities: list | None = None,
          deposit_at=None, insert: bool = False) -> None:
    """Write the balanced lines of `tx` and move the account (caller holds the account's row lock). `activities`
    (unsaved Activity entries) and `deposit_at` (the customer's last deposit and activity time) are written with
    them, and with `insert` the new transaction itself (its id already taken from its sequence; PostgreSQL only): on
    PostgreSQL all of it is one statement (data-modifying CTEs), each part what the ORM would write."""

    spec = TYPES[tx.type]
    signed = tx.amount * spec.sign * (-1 if tx.reverses_id else 1)  # a reversal undoes its original
    lines = [LedgerLine(transaction=tx, account=account, book=spec.bucket, amount=signed, currency=tx.currency),
             LedgerLine(transaction=tx, account=None, book=spec.house, amount=-signed, currency=tx.currency)]
    # Move the bucket and read both back (UPDATE … RETURNING, under the caller's row lock).
    table = TradingAccount._meta.db_table
    column = TradingAccount._meta.get_field(spec.bucket).get_attname_column()[1]  # type: ignore[union-attr]
    move = (f'UPDATE "{table}" SET "{column}" = "{column}" + %s WHERE "id" = %s RETURNING "balance", "credit"',
            [signed, account.pk])
    if connection.vendor == "postgresql":
        parts = [*([insert_sql([tx], with_pk=True)] if insert else []), insert_sql(lines),
                 *([insert_sql(activities)] if activities else [])]
        if deposit_at is not None:
            parts.append((f'UPDATE "{Customer._meta.db_table}" SET "last_deposit_at" = %s, "last_activity_at" = %s '
                          'WHERE "id" = %s', [deposit_at, deposit_at, tx.customer_id]))
        sql = "WITH " + ", ".join(f"w{i} AS ({part})" for i, (part, _) in enumerate(parts)) + " " + move[0]
        params = [p for _, part_params in parts for p in part_params] + move[1]
    else:  # the embedded default (SQLite has no data-modifying CTEs): the same writes one by one
        LedgerLine.objects.bulk_create(lines)
        if activities:
            Activity.objects.bulk_create(activities)
        if deposit_at is not None:
            Customer.objects.filter(pk=tx.customer_id).update(last_deposit_at=deposit_at, last_activity_at=deposit_at)
        sql, params = move
    with fixed_cursor() as cursor:
        cursor.execute(sql, params)
        if insert:
            mark_saved(tx)
        # PostgreSQL returns Decimals; SQLite (the embedded default) numbers: read them as the model's decimals.
        account.balance, account.credit = (v if isinstance(v, Decimal) else Decimal(str(v)).quantize(CENT)
                                           for v in cursor.fetchone())


def _completed_activity(tx: Transaction, by, now):
    return Activity(customer=tx.customer, actor=actor_user(by), verb="transaction.completed",
                    summary=f"{tx.type} {tx.amount} {tx.currency} completed (#{tx.pk})"[:255],
                    data={"transaction_id": tx.pk, "type": tx.type, "amount": str(tx.amount), "currency": tx.currency},
                    created_at=now)


def _after_completion(tx: Transaction, account: TradingAccount, by, *, locked_customer=None,
                      written: bool = False) -> None:
    """Side effects of a completed transaction. `locked_customer`: the customer row, read under this transaction's
    lock (spares re-reading it); `written`: `_post` already wrote the activity entries and the deposit's times."""

    now = timezone.now()
    if tx.type == TxType.DEPOSIT:
        if not written:
            Customer.objects.filter(pk=tx.customer_id).update(last_deposit_at=now, last_activity_at=now)
        if locked_customer is None or locked_customer.finance_status == "no_deposit":
            _finance_status_after_deposit(tx.customer_id)
    if not written:
        _completed_activity(tx, by, now).save()
    event_emit("transaction.completed", {"transaction_id": tx.pk, "customer_id": tx.customer_id, "type": tx.type,
                                         "amount": str(tx.amount), "currency": tx.currency,
                                         "amount_usd": str(tx.amount_usd)})
    if tx.type == TxType.CHARGEBACK and account.balance < 0:
        _auto_freeze(tx, account)


def _finance_status_after_deposit(customer_id: int) -> None:
    customer = Customer.objects.get(pk=customer_id)
    if customer.finance_status == "no_deposit":
        customer_transition(customer=customer, pipeline="finance", to="depositor", by=SYSTEM,
                            reason="first deposit")


def _auto_freeze(tx: Transaction, account: TradingAccount) -> None:
    """A chargeback left the balance negative: freeze the customer, record it, and announce `customer.frozen`."""

    customer = customer_transition(customer=tx.customer, pipeline="finance", to="frozen", by=SYSTEM,
                                   reason=f"negative balance after chargeback #{tx.pk}")
    activity_record(customer=customer, verb="customer.frozen",
                    summary=f"Frozen automatically: balance {account.balance} {account.currency} after chargeback",
                    data={"transaction_id": tx.pk, "balance": str(account.balance)})
    # crm answers with the finance task (crm.handlers.on_customer_frozen): an upward reaction, so an event.
    event_emit("customer.frozen", {"customer_id": customer.pk, "transaction_id": tx.pk,
                                   "account_login": account.login, "balance": str(account.balance)})


# --- transactions ------------------------------------------------------------------------------------------------


_ACCOUNT_ROW = JoinedRow(("a", TradingAccount), ("c", Customer))
_POSTING_ROW = JoinedRow(("a", TradingAccount), ("c", Customer), ("k", KycSettings))


class Locked(NamedTuple):
    """What a posting reads with its row lock: the account (`.customer` loaded), the broker's KYC rules as of the
    lock (None when they were not read with it: `kyc_gate_check` then reads them itself) and, when asked for, the
    new transaction's id taken from its sequence (None otherwise)."""

    account: TradingAccount
    kyc: KycSettings | None
    next_id: int | None


@cache
def _account_sql(by_login: bool, posting: bool, new_id: bool) -> str:
    """The locked read of an account and its customer (`{scope}` left for the caller's scope condition), built once
    per process: as fixed SQL it costs a tenth of the ORM's compilation of the same `select_related` query.

    `posting` (PostgreSQL, by login): the same read that never waits for the lock (`SKIP LOCKED`: a row another
    transaction holds is left out, and the caller falls back to the waiting read), and so can bring in the same
    round trip the KYC rules row as of the lock (a read that waited would see the rules from before its wait) and
    (`new_id`) a new id from the transactions' sequence (nextval is never rolled back: a posting refused after it
    leaves a gap in the ids, as any rolled-back INSERT does). Either way the lock is on the account's and the
    customer's rows only."""
    q = connection.ops.quote_name
    where = f"a.{q('login')} = %s" if by_login else f"a.{q('customer_id')} = %s"
    order = "" if by_login else f" ORDER BY a.{q('login')}"  # logins are unique: no ORDER BY for one
    tables = (f"FROM {q(TradingAccount._meta.db_table)} a "
              f"JOIN {q(Customer._meta.db_table)} c ON c.{q('id')} = a.{q('customer_id')}")
    if not posting:
        lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
        return f"SELECT {_ACCOUNT_ROW.columns} {tables} WHERE {where}{{scope}}{order} LIMIT 1{lock}"
    assert by_login  # SKIP LOCKED over several candidate rows would pick another account
    next_id = "NULL"
    if new_id:
        with connection.cursor() as cursor:  # the sequence's name, once: not looked up on every posting
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)",
                           [Transaction._meta.db_table, Transaction._meta.pk.column])
            next_id = f"nextval('{cursor.fetchone()[0]}'::regclass)"
    return (f"SELECT {_POSTING_ROW.columns}, {next_id} {tables} "
            f"LEFT JOIN LATERAL (SELECT * FROM {q(KycSettings._meta.db_table)} ORDER BY {q('id')} LIMIT 1) k ON TRUE "
            f"WHERE {where}{{scope}} LIMIT 1 FOR UPDATE OF a, c SKIP LOCKED")


def _resolve_account(*, by, customer_id=None, account_login=None, posting: bool = False,
                     new_id: bool = False) -> Locked:
    """The account within `by`'s scope, its row and its customer's locked in the same query (`.customer` loaded);
    with `posting` (PostgreSQL only) and an account login, also the KYC rules and (`new_id`) a new transaction id
    when the lock was free (see `_account_sql`).

    The scope is `Customer.objects.scope_for(by)`, the one `TradingAccount.objects.visible_to(by)` applies: nothing
    is added for a user who sees every customer, otherwise the customer must be in it (its SQL as a subquery). Out of
    scope, like absent, is 404 and locks nothing."""
    if account_login is None and customer_id is None:
        raise LedgerError("customer_id or account_login is required.",
                          fields={"customer_id": ["customer_id or account_login is required."]})
    by_login = account_login is not None
    field = cast(Field, TradingAccount._meta.get_field("login" if by_login else "customer"))
    value = field.get_prep_value(account_login if by_login else customer_id)
    low, high = connection.ops.integer_field_range(getattr(field, "target_field", field).get_internal_type())
    scope, scope_params = "", []
    try:
        if not low <= value <= high:  # no such row (the ORM answers an out-of-range lookup the same way)
            raise EmptyResultSet
        customers = Customer.objects.scope_for(by)
        if customers is not None:
            sub, scope_params = customers.order_by().values("pk").query.sql_with_params()
            scope = f" AND c.{connection.ops.quote_name('id')} IN ({sub})"
    except EmptyResultSet:  # no customer in scope at all
        raise LedgerNotFound("No such customer or account.") from None
    row = None
    # Prepared only without a scope condition: a scope's subquery (team paths as LIKE patterns, grants) is planned
    # for its values each time, where a generic plan could not use the path index.
    with (connection.cursor() if scope else fixed_cursor()) as cursor:
        if posting and by_login:  # the lock is free (the usual case): rules and id in the same round trip
            cursor.execute(_account_sql(True, True, new_id).format(scope=scope), [value, *scope_params])
            row = cursor.fetchone()
            if row is not None:
                account, customer, kyc = _POSTING_ROW.models(row)
                next_id = row[-1]
        if row is None:  # held by another transaction (or absent, or out of scope): wait for it
            cursor.execute(_account_sql(by_login, False, False).format(scope=scope), [value, *scope_params])
            row = cursor.fetchone()
            if row is None:
                raise LedgerNotFound("No such customer or account.")
            (account, customer), kyc, next_id = _ACCOUNT_ROW.models(row), None, None
    TradingAccount.customer.field.set_cached_value(account, customer)
    return Locked(account, kyc, next_id)


@transaction.atomic
def transaction_create(*, by, type: str, amount, currency: str, customer_id=None, account_login=None,
                       comment: str = "", idempotency_key: str | None = None, provider: str = "",
                       status: str | None = None) -> tuple[Transaction, bool]:
    """Create a transaction; returns (transaction, created). The same idempotency key returns the first one.

    Steps: resolve the account within `by`'s scope → check currency and amount → lock the account row →
    frozen and available-funds checks for guarded debits → insert → complete at once when no approval is
    needed (deposits through a provider wait in `processing` instead)."""
    if type not in TYPES:
        raise LedgerError("Unknown transaction type.", fields={"type": [f"One of: {', '.join(TYPES)}."]})
    spec = TYPES[type]
    actor_check(by)
    if not by.holds(spec.permission):
        raise LedgerPermissionDenied(f"Creating a {type} needs {spec.permission}.")
    amount = to_money(amount, currency=currency)
    request = {"type": type, "amount": amount, "currency": (currency or "").upper(),
               "customer_id": customer_id, "account_login": account_login}
    if idempotency_key:
        existing = Transaction.objects.filter(created_by=actor_user(by), idempotency_key=idempotency_key).first()
        if existing:
            return _idempotent_repeat(existing, request), False
    if amount <= 0:
        raise LedgerError("Amounts are positive.", fields={"amount": ["Must be greater than zero."]})
    completes_now = status != TxStatus.PROCESSING and not spec.needs_approval
    # Without a key nothing can collide: a posting completed at once is one statement with its lines (PostgreSQL).
    one_statement = completes_now and not idempotency_key and connection.vendor == "postgresql"
    # Scope and row lock in one query (the account's row and its customer's), with the KYC rules and a new id.
    account, kyc, next_id = _resolve_account(by=by, customer_id=customer_id, account_login=account_login,
                                             posting=connection.vendor == "postgresql", new_id=one_statement)
    one_statement = next_id is not None  # no id when the lock had to be waited for: the INSERT of its own then
    currency = (currency or "").upper()
    if currency != account.currency:
        raise LedgerError("The currency must be the account's.",
                          fields={"currency": [f"Account {account.login} is in {account.currency}."]})
    customer = account.customer
    if type in GUARDED_DEBITS:
        if customer.finance_status == "frozen":
            raise AccountFrozen("The customer's account is frozen.")
        if amount > available_balance(account):
            raise InsufficientFunds("Not enough available funds.")
    amount_usd = to_usd(amount, currency)
    if type in (TxType.DEPOSIT, TxType.WITHDRAWAL):
        # The broker's KYC rules (customers.kyc): 409 kyc_required when they need approved KYC.
        kyc_gate_check(customer=customer, operation=type, amount_usd=amount_usd, settings=kyc)
    tx = Transaction(account=account, customer=customer, type=type, amount=amount, currency=currency,
                     amount_usd=amount_usd, comment=comment, created_by=actor_user(by),
                     idempotency_key=idempotency_key or None,
                     provider=provider, required_role=required_role_for(amount_usd) if spec.needs_approval else "")
    if completes_now:  # inserted completed (one INSERT rather than INSERT + UPDATE); same transitions
        tx.approve()
        tx.complete()
        tx.completed_at = timezone.now()
    if one_statement:
        tx.pk = next_id  # inserted by `_post`'s statement, with its lines
    elif idempotency_key:  # only a key can collide: the savepoint is needed for it alone
        try:
            with transaction.atomic():
                insert_one(tx)
        except IntegrityError:
            existing = Transaction.objects.filter(created_by=actor_user(by), idempotency_key=idempotency_key).first()
            if existing:
                return _idempotent_repeat(existing, request), False
            raise
    else:
        insert_one(tx)  # as tx.save() (no signals on transactions), without compiling the INSERT each time
    Transaction.payout.related.set_cached_value(tx, None)  # a new transaction has no payout (spares a read)

    created = dict(customer=customer, verb="transaction.created", by=by,
                   summary=f"{type} {amount} {currency} created (#{tx.pk})",
                   data={"transaction_id": tx.pk, "type": type, "amount": str(amount), "currency": currency})
    if completes_now:  # lines, balance, both activity entries (and a deposit's times) in one statement
        now = timezone.now()
        _post(tx, account, deposit_at=now if type == TxType.DEPOSIT else None, activities=[Activity(
            customer=customer, actor=actor_user(by), verb=created["verb"], summary=created["summary"][:255],
            data=created["data"], created_at=now), _completed_activity(tx, by, now)], insert=one_statement)
        _after_completion(tx, account, by, locked_customer=customer, written=True)
        return tx, True
    activity_record(**created)
    if status == TxStatus.PROCESSING:
        tx.process()
        tx.save()
    return tx, True


def _idempotent_repeat(existing: Transaction, request: dict) -> Transaction:
    """The first transaction made with this key, if the repeat asks for the same thing; else 409
    idempotency_conflict (a reused key must never silently stand for a different payment)."""
    differs = [name for name, same in (
        ("type", existing.type == request["type"]),
        ("amount", existing.amount == request["amount"]),
        ("currency", existing.currency == request["currency"]),
        ("customer_id", request["customer_id"] is None or existing.customer_id == request["customer_id"]),
        ("account_login", request["account_login"] is None or existing.account.login == request["account_login"]),
    ) if not same]
    if differs:
        raise IdempotencyConflict(f"This idempotency_key was used for a different transaction (#{existing.pk}): "
                          f"{', '.join(differs)} differ.")
    return existing


def _lock(tx: Transaction, by) -> Transaction:
    qs = Transaction.objects.visible_to(by).select_for_update(of=("self",)).select_related("customer", "account")
    locked = qs.filter(pk=tx.pk).first()
    if locked is None:
        raise LedgerNotFound("No such transaction.")
    return locked


@transaction.atomic
def transaction_approve(*, tx: Transaction, by) -> Transaction:
    """Approve and complete a pending transaction. Maker-checker: the creator never approves (403 maker_checker);
    the approver's level must reach the rule's (403 approval_level_insufficient). Two concurrent approvals: one
    wins, the other finds it no longer pending (409 invalid_transition)."""
    tx = _lock(tx, by)
    if not by.holds("finance.approve_transactions"):
        raise LedgerPermissionDenied("Approving needs finance.approve_transactions.")
    if tx.status != TxStatus.PENDING_APPROVAL:
        raise LedgerInvalidTransition(f"The transaction is {tx.status}, not pending approval.")
    if tx.created_by_id == by.pk:
        raise MakerChecker("The creator of a transaction cannot approve it.")
    _approval_level_check(tx, by, verb="approval")
    if tx.reverses_id:
        return _reversal_complete(tx=tx, by=by)
    account = TradingAccount.objects.select_for_update().get(pk=tx.account_id)
    if tx.type in GUARDED_DEBITS:
        if tx.customer.finance_status == "frozen":
            raise AccountFrozen("The customer's account is frozen.")
        # Its own amount is among the pending ones: compare against the balance less the others.
        if tx.amount > available_balance(account) + tx.amount:
            raise InsufficientFunds("Not enough available funds.")
    tx.approve()
    tx.approved_by = by
    if tx.type == TxType.WITHDRAWAL:
        # The money still has to go out: debit now (into house:payouts), complete when the payout is confirmed.
        from .payouts import payout_open

        tx.save()
        payout_open(tx=tx, account=account, by=by)
        _audit(by, "transaction.approved", tx)
        return tx
    tx.complete()
    tx.completed_at = timezone.now()
    tx.save()
    _post(tx, account)
    _after_completion(tx, account, by)
    _audit(by, "transaction.approved", tx)
    return tx


def _approval_level_check(tx: Transaction, by, *, verb: str) -> None:
    """Approving and rejecting need the same level: the rule's `required_role` or above (superusers pass)."""
    level = by.role.approval_level if by.role else "none"
    if not by.is_superuser and APPROVAL_RANK.get(level, 0) < APPROVAL_RANK.get(tx.required_role, 3):
        raise ApprovalLevelInsufficient(f"This amount needs {tx.required_role} {verb}.")


def _audit(by, action: str, tx: Transaction) -> None:
    audit_record(by=by, action=action, obj=tx, before={"status": TxStatus.PENDING_APPROVAL},
                 after={"status": tx.status, "type": tx.type, "amount": str(tx.amount), "currency": tx.currency,
                        "customer": tx.customer_id, "reason": tx.reason})


@transaction.atomic
def transaction_reject(*, tx: Transaction, by, reason: str) -> Transaction:
    """Reject a pending transaction with a reason. It needs the same approval level as approving it (403
    approval_level_insufficient); the rejecter is recorded as `rejected_by` (never as `approved_by`)."""
    tx = _lock(tx, by)
    if not by.holds("finance.approve_transactions"):
        raise LedgerPermissionDenied("Rejecting needs finance.approve_transactions.")
    if not reason.strip():
        raise LedgerError("A reason is required.", fields={"reason": ["Say why."]})
    if tx.status != TxStatus.PENDING_APPROVAL:
        raise LedgerInvalidTransition(f"The transaction is {tx.status}, not pending approval.")
    _approval_level_check(tx, by, verb="approval to reject")
    tx.reject()
    tx.reason = reason
    tx.rejected_by = by
    tx.save()
    _audit(by, "transaction.rejected", tx)

    activity_record(customer=tx.customer, verb="transaction.rejected", by=by,
                    summary=f"{tx.type} {tx.amount} {tx.currency} rejected (#{tx.pk})", data={"reason": reason})
    return tx


@transaction.atomic
def transaction_settle(*, tx: Transaction, approved: bool, provider_reference: str = "", amount=None,
                       reason: str = "") -> Transaction:
    """A provider's final answer on a `processing` deposit: complete (posting it) or fail. Final states never move
    back: a late or repeated notification is a no-op.

    `amount`: what the provider says was paid. When it differs from the request, that amount is credited, the
    requested one kept in `requested_amount`, `amount_mismatch` set and an activity entry recorded."""
    tx = Transaction.objects.select_for_update(of=("self",)).select_related("customer").get(pk=tx.pk)
    if tx.status != TxStatus.PROCESSING:
        return tx
    account = TradingAccount.objects.select_for_update().get(pk=tx.account_id)
    if provider_reference:
        tx.provider_reference = provider_reference[:120]
    if reason:
        tx.reason = reason[:500]
    if approved and amount is not None and to_money(amount) != tx.amount and to_money(amount) > 0:
        requested, paid = tx.amount, to_money(amount)
        tx.requested_amount, tx.amount, tx.amount_mismatch = requested, paid, True
        tx.amount_usd = to_usd(paid, tx.currency)
        activity_record(customer=tx.customer, verb="transaction.amount_changed", by=None,
                        summary=f"{tx.provider or 'provider'} settled {paid} {tx.currency} on a request of "
                                f"{requested} (#{tx.pk})",
                        data={"transaction_id": tx.pk, "requested": str(requested), "paid": str(paid),
                              "currency": tx.currency})
    if approved:
        tx.complete()
        tx.completed_at = timezone.now()
        tx.save()
        _post(tx, account)
        _after_completion(tx, account, None)
    else:
        tx.fail()
        tx.save()
    return tx


@transaction.atomic
def provider_debit_post(*, deposit: Transaction, type: str, amount, reference: str, provider: str) -> tuple[
        Transaction, bool]:
    """Post the money a provider took back on a completed deposit: a `refund` or a `chargeback`, completed at once
    (the provider has already moved the money; no approval, no available-funds guard) and linked to the deposit
    (`related`). A chargeback that leaves the balance negative takes the auto-freeze path.

    Idempotent per (deposit, type, reference): the same notification delivered again returns the first one."""
    if type not in (TxType.REFUND, TxType.CHARGEBACK):
        raise ValueError(type)
    deposit = Transaction.objects.select_for_update(of=("self",)).get(pk=deposit.pk)
    existing = Transaction.objects.filter(related=deposit, type=type, provider_reference=reference[:120]).first()
    if existing:
        return existing, False
    amount = to_money(amount if amount is not None else deposit.amount)
    account = TradingAccount.objects.select_for_update().select_related("customer").get(pk=deposit.account_id)
    tx = Transaction(account=account, customer=account.customer, type=type, amount=amount, currency=deposit.currency,
                     amount_usd=to_usd(amount, deposit.currency), provider=provider,
                     provider_reference=reference[:120], related=deposit,
                     comment=f"{provider} {type} on deposit #{deposit.pk}")
    tx.save()
    tx.approve()
    tx.complete()
    tx.completed_at = timezone.now()
    tx.save()
    _post(tx, account)
    _after_completion(tx, account, None)
    return tx, True


@transaction.atomic
def customer_unfreeze(*, customer, by, reason: str):
    """Explicit, permitted unfreeze (pipelines.change_finance_status) with a reason: frozen → depositor, audited.
    The only way out of `frozen` (customers.services.customer_transition refuses it otherwise)."""
    if not by.holds("pipelines.change_finance_status"):
        raise LedgerPermissionDenied("Unfreezing needs pipelines.change_finance_status.")
    if not (reason or "").strip():
        raise LedgerError("A reason is required.", fields={"reason": ["Say why the account is unfrozen."]})

    locked = Customer.objects.visible_to(by).select_for_update(of=("self",)).filter(pk=customer.pk).first()
    if locked is None:
        raise LedgerNotFound("No such customer.")
    if locked.finance_status != "frozen":
        raise LedgerInvalidTransition(f"The customer is {locked.finance_status}, not frozen.")
    customer = customer_transition(customer=locked, pipeline="finance", to="depositor", by=by, reason=reason,
                                   unfreeze=True)
    activity_record(customer=customer, verb="customer.unfrozen", by=by, summary="Unfrozen", data={"reason": reason})

    audit_record(by=by, action="customer.unfrozen", obj=customer, before={"finance_status": "frozen"},
                 after={"finance_status": customer.finance_status, "reason": reason})
    return customer


# --- the lifecycle: cancel and reverse ------------------------------------------------------------------------

LIVE_REVERSAL_STATES = (TxStatus.PENDING_APPROVAL, TxStatus.APPROVED, TxStatus.PROCESSING, TxStatus.COMPLETED)


@transaction.atomic
def transaction_cancel(*, tx: Transaction, by=None, customer=None, reason: str = "") -> Transaction:
    """Cancel a transaction still pending approval: by its creator (staff, `by`), or by the customer (`customer`)
    for a withdrawal they requested in the client area. Funds it reserved are released at once (the available
    balance counts only pending debits). Anyone else gets 403 (approvers reject instead); a transaction no longer
    pending gets 409 invalid_transition, so a cancel racing an approval loses or wins as a whole."""
    if customer is not None:
        tx = (Transaction.objects.select_for_update(of=("self",)).select_related("customer")
              .filter(pk=tx.pk, customer=customer, type=TxType.WITHDRAWAL, requested_by_customer=True).first())
        if tx is None:
            raise LedgerNotFound("No such withdrawal request.")
    else:
        tx = _lock(tx, by)
        if tx.created_by_id is None or tx.created_by_id != by.pk:
            raise LedgerPermissionDenied("Only the creator can cancel a transaction; an approver rejects it.")
    if tx.status != TxStatus.PENDING_APPROVAL:
        raise LedgerInvalidTransition(f"The transaction is {tx.status}, not pending approval.")
    tx.cancel()
    tx.reason = reason[:500]
    tx.save()

    who = "the customer" if customer is not None else "its creator"
    activity_record(customer=tx.customer, verb="transaction.cancelled", by=by,
                    summary=f"{tx.type} {tx.amount} {tx.currency} cancelled by {who} (#{tx.pk})",
                    data={"transaction_id": tx.pk, "reason": tx.reason, "by_customer": customer is not None})
    if by is not None and by is not SYSTEM:
        _audit(by, "transaction.cancelled", tx)
    return tx


@transaction.atomic
def transaction_reverse(*, tx: Transaction, by, reason: str) -> Transaction:
    """Request the reversal of a completed transaction: a new transaction of the same type and amount, linked by
    `reverses`, that posts the opposite effect once approved (maker-checker, the tier of the original's USD
    amount). Locks the original, so of two concurrent requests one wins; the other, and any request while a
    reversal is pending or done, gets 409 invalid_transition. A reversal that takes from the balance reserves
    its amount like a withdrawal (409 insufficient_funds when it is not available)."""
    if not by.holds("finance.create_adjustment"):
        raise LedgerPermissionDenied("Reversing needs finance.create_adjustment.")
    if not (reason or "").strip():
        raise LedgerError("A reason is required.", fields={"reason": ["Say why."]})
    original = _lock(tx, by)
    if original.reverses_id:
        raise LedgerInvalidTransition("A reversal cannot itself be reversed.")
    if original.status == TxStatus.REVERSED:
        raise LedgerInvalidTransition("The transaction is already reversed.")
    if original.status != TxStatus.COMPLETED:
        raise LedgerInvalidTransition(f"The transaction is {original.status}; only completed transactions are "
                                      "reversed.")
    live = original.reversals.filter(status__in=LIVE_REVERSAL_STATES).first()
    if live is not None:
        raise LedgerInvalidTransition(f"Reversal #{live.pk} of this transaction is already {live.status}.")
    account = TradingAccount.objects.select_for_update().get(pk=original.account_id)
    if original.type in BALANCE_CREDITS and original.amount > available_balance(account):
        raise InsufficientFunds("Not enough available funds to reverse it.")
    reversal = Transaction(account=account, customer=original.customer, type=original.type, amount=original.amount,
                           currency=original.currency, amount_usd=original.amount_usd, reverses=original,
                           required_role=required_role_for(original.amount_usd), created_by=by,
                           comment=f"Reversal of #{original.pk}", reason=reason.strip()[:500])
    try:
        with transaction.atomic():
            reversal.save()
    except IntegrityError:  # tx_reversed_once: another reversal got in first
        raise LedgerInvalidTransition("A reversal of this transaction already exists.") from None

    activity_record(customer=original.customer, verb="transaction.reversal_requested", by=by,
                    summary=f"Reversal #{reversal.pk} of {original.type} {original.amount} {original.currency} "
                            f"(#{original.pk}) requested",
                    data={"transaction_id": reversal.pk, "reverses": original.pk, "reason": reversal.reason})

    audit_record(by=by, action="transaction.reversal_requested", obj=reversal, before=None,
                 after={"reverses": original.pk, "type": original.type, "amount": str(original.amount),
                        "currency": original.currency, "reason": reversal.reason})
    return reversal


def _reversal_complete(*, tx: Transaction, by) -> Transaction:
    """Approve a pending reversal (the caller, transaction_approve, holds its lock and has checked maker-checker
    and the approval level): post the opposite effect and mark the original `reversed`, in one transaction.
    Lock order: reversal, original, account (as transaction_reverse: original, account)."""
    original = Transaction.objects.select_for_update(of=("self",)).get(pk=tx.reverses_id)
    if original.status != TxStatus.COMPLETED:
        raise LedgerInvalidTransition(f"The original transaction is {original.status}.")
    account = TradingAccount.objects.select_for_update().get(pk=tx.account_id)
    if tx.type in BALANCE_CREDITS and tx.amount > available_balance(account) + tx.amount:
        raise InsufficientFunds("Not enough available funds to reverse it.")
    tx.approve()
    tx.approved_by = by
    tx.complete()
    tx.completed_at = timezone.now()
    tx.save()
    _post(tx, account)
    original.reverse()
    original.save()

    activity_record(customer=tx.customer, verb="transaction.reversed", by=by,
                    summary=f"{original.type} {original.amount} {original.currency} (#{original.pk}) reversed "
                            f"by #{tx.pk}",
                    data={"transaction_id": tx.pk, "reverses": original.pk, "reason": tx.reason})
    _audit(by, "transaction.reversal_approved", tx)
    # Not `transaction.completed` (deposit workflows must not fire), but the money moved: the trading-platform
    # bridge posts the opposite deal.
    event_emit("transaction.reversed", {"transaction_id": tx.pk, "reverses": original.pk,
                                        "customer_id": tx.customer_id})
    return tx


# --- the client area ---------------------------------------------------------------------------------------------


def withdrawal_request(*, customer, amount, currency: str) -> Transaction:
    """A customer asks for a withdrawal from their account in `currency`: a `withdrawal` pending approval, with its
    amount reserved (409 insufficient_funds beyond the available balance, 409 account_frozen when frozen)."""
    amount = to_money(amount)
    if amount <= 0:
        raise LedgerError("Amounts are positive.", fields={"amount": ["Must be greater than zero."]})
    currency = (currency or "").upper()
    account = customer.accounts.filter(currency=currency).order_by("login").first()
    if account is None:
        raise LedgerError("No trading account in that currency.",
                          fields={"currency": [f"You have no account in {currency or 'that currency'}."]})
    with transaction.atomic():
        tx, _ = transaction_create(by=SYSTEM, type=TxType.WITHDRAWAL, amount=amount, currency=currency,
                                   account_login=account.login, comment="Client area withdrawal request")
        Transaction.objects.filter(pk=tx.pk).update(requested_by_customer=True)
        tx.requested_by_customer = True
    return tx


# --- verification ------------------------------------------------------------------------------------------------


def ledger_verify() -> list[str]:
    """Every account's balance and credit equal the sums of their lines; every currency's lines sum to zero."""
    problems = []
    sums = {(r["account_id"], r["book"]): r["total"]
            for r in LedgerLine.objects.filter(account__isnull=False).values("account_id", "book")
            .annotate(total=Sum("amount"))}
    for account in TradingAccount.objects.only("pk", "login", "balance", "credit").iterator(chunk_size=5000):
        for book in ("balance", "credit"):
            expected = sums.get((account.pk, book), ZERO)
            if getattr(account, book) != expected:
                problems.append(f"account {account.login}: {book} {getattr(account, book)} != lines {expected}")
    problems.extend(f"currency {row['currency']}: lines sum to {row['total']}, not 0"
                    for row in LedgerLine.objects.values("currency").annotate(total=Sum("amount"))
                    if row["total"] != 0)
    problems.extend(f"transaction {row['transaction_id']}: lines sum to {row['total']}"
                    for row in LedgerLine.objects.values("transaction_id").annotate(total=Sum("amount"))
                    .exclude(total=0)[:20])
    return problems
