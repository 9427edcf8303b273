"""Writes of the ledger. Money moves only through these functions.

Rules: amounts are Decimal quantized to the currency's minor unit, never floats; a transaction's currency is
its account's; every move to `completed` writes balanced lines and updates the account in the same database
transaction, under a row lock on the account; repeats are harmless (idempotency keys, locked re-checks)."""

from __future__ import annotations

from brokercrm.errors import DomainError

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from brokercrm.events import event_emit
from teams.constants import APPROVAL_RANK

from .models import LOGIN_OFFSET, ApprovalRule, FxRate, LedgerLine, TradingAccount, Transaction, TxStatus, TxType
from .types import GUARDED_DEBITS, TYPES

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
PENDING_DEBIT_STATES = (TxStatus.PENDING_APPROVAL, TxStatus.APPROVED, TxStatus.PROCESSING)


class LedgerError(DomainError):
    """An error of this app's services (see brokercrm.errors)."""


def to_money(value) -> Decimal:
    """Quantize to cents. Floats are refused: they have already lost precision."""
    if isinstance(value, float):
        raise TypeError("use Decimal or str for money, not float")
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise LedgerError("Not an amount.", fields={"amount": ["A decimal number such as 100.00."]}) from None
    if not amount.is_finite() or abs(amount) >= Decimal(10) ** 16:
        raise LedgerError("Not an amount.", fields={"amount": ["A finite decimal number below 10^16."]})
    if amount != amount.quantize(CENT):
        raise LedgerError("Too many decimal places.", fields={"amount": ["At most 2 decimal places."]})
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


# --- accounts ---------------------------------------------------------------------------------------------------


@transaction.atomic
def account_open(*, customer, currency: str = "USD") -> TradingAccount:
    """Open a trading account for `customer`; its login is derived from its id (unique, never reused)."""
    account = TradingAccount.objects.create(customer=customer, currency=currency.upper())
    account.login = LOGIN_OFFSET + account.pk
    TradingAccount.objects.filter(pk=account.pk).update(login=account.login)
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


# --- FX and approval rules ----------------------------------------------------------------------------------------


def to_usd(amount: Decimal, currency: str) -> Decimal:
    if currency == "USD":
        return amount
    rate = FxRate.objects.filter(currency=currency).values_list("usd_rate", flat=True).first()
    if rate is None:
        raise LedgerError(f"No FX rate for {currency}.", fields={"currency": ["No exchange rate is configured."]})
    return (amount * rate).quantize(CENT, rounding=ROUND_HALF_UP)


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
            problems.append(f"Rule {i + 1} starts at {low}, expected {expected}: ranges must not overlap or leave gaps.")
        if high is not None and high <= low:
            problems.append(f"Rule {i + 1}: max_amount_usd must exceed min_amount_usd.")
        if high is None and i != len(ordered) - 1:
            problems.append(f"Rule {i + 1}: only the last rule may be open-ended.")
        expected = high if high is not None else expected
    if ordered and ordered[-1].get("max_amount_usd") is not None:
        problems.append("The last rule must be open-ended (max_amount_usd null).")
    if problems:
        raise LedgerError("Invalid approval rules.", fields={"rules": problems})
    from teams.services import audit_record

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


def fx_rate_set(*, currency: str, usd_rate, by=None) -> FxRate:
    rate = Decimal(str(usd_rate))
    if rate <= 0:
        raise LedgerError("Rates are positive.", fields={"usd_rate": ["Must be positive."]})
    obj, _ = FxRate.objects.update_or_create(currency=currency.upper(),
                                             defaults={"usd_rate": rate, "updated_at": timezone.now()})
    return obj


# --- balances ----------------------------------------------------------------------------------------------------


def available_balance(account: TradingAccount) -> Decimal:
    """Balance less the guarded debits still pending (a withdrawal reserves its amount when created)."""
    pending = (Transaction.objects.filter(account=account, type__in=GUARDED_DEBITS, status__in=PENDING_DEBIT_STATES)
               .aggregate(total=Coalesce(Sum("amount"), ZERO))["total"])
    return account.balance - pending


def _post(tx: Transaction, account: TradingAccount) -> None:
    """Write the balanced lines of `tx` and move the account (caller holds the account's row lock)."""
    spec = TYPES[tx.type]
    signed = tx.amount * spec.sign
    LedgerLine.objects.bulk_create([
        LedgerLine(transaction=tx, account=account, book=spec.bucket, amount=signed, currency=tx.currency),
        LedgerLine(transaction=tx, account=None, book=spec.house, amount=-signed, currency=tx.currency),
    ])
    TradingAccount.objects.filter(pk=account.pk).update(**{spec.bucket: F(spec.bucket) + signed})
    account.refresh_from_db(fields=["balance", "credit"])


def _after_completion(tx: Transaction, account: TradingAccount, by) -> None:
    from customers.models import Customer
    from customers.services import activity_record

    now = timezone.now()
    if tx.type == TxType.DEPOSIT:
        Customer.objects.filter(pk=tx.customer_id).update(last_deposit_at=now, last_activity_at=now)
        _finance_status_after_deposit(tx.customer_id)
    activity_record(customer=tx.customer, verb="transaction.completed", by=by,
                    summary=f"{tx.type} {tx.amount} {tx.currency} completed (#{tx.pk})",
                    data={"transaction_id": tx.pk, "type": tx.type, "amount": str(tx.amount),
                          "currency": tx.currency})
    event_emit("transaction.completed", {"transaction_id": tx.pk, "customer_id": tx.customer_id, "type": tx.type,
                                         "amount": str(tx.amount), "currency": tx.currency,
                                         "amount_usd": str(tx.amount_usd)})
    if tx.type == TxType.CHARGEBACK and account.balance < 0:
        _auto_freeze(tx, account)


def _finance_status_after_deposit(customer_id: int) -> None:
    from customers.models import Customer
    from customers.services import customer_transition

    customer = Customer.objects.get(pk=customer_id)
    if customer.finance_status == "no_deposit":
        customer_transition(customer=customer, pipeline="finance", to="depositor", by=None,
                            reason="first deposit")


def _auto_freeze(tx: Transaction, account: TradingAccount) -> None:
    """A chargeback left the balance negative: freeze the customer, record it, and announce `customer.frozen`."""
    from customers.services import activity_record, customer_transition

    customer = customer_transition(customer=tx.customer, pipeline="finance", to="frozen", by=None,
                                   reason=f"negative balance after chargeback #{tx.pk}")
    activity_record(customer=customer, verb="customer.frozen",
                    summary=f"Frozen automatically: balance {account.balance} {account.currency} after chargeback",
                    data={"transaction_id": tx.pk, "balance": str(account.balance)})
    # crm answers with the finance task (crm.handlers.on_customer_frozen): an upward reaction, so an event.
    event_emit("customer.frozen", {"customer_id": customer.pk, "transaction_id": tx.pk,
                                   "account_login": account.login, "balance": str(account.balance)})


# --- transactions ------------------------------------------------------------------------------------------------


def _resolve_account(*, by, customer_id=None, account_login=None) -> TradingAccount:
    from customers.models import Customer

    visible = Customer.objects.visible_to(by) if by is not None else Customer.objects.all()
    accounts = TradingAccount.objects.filter(customer__in=visible).select_related("customer")
    if account_login is not None:
        account = accounts.filter(login=account_login).first()
    elif customer_id is not None:
        account = accounts.filter(customer_id=customer_id).order_by("login").first()
    else:
        raise LedgerError("customer_id or account_login is required.",
                          fields={"customer_id": ["customer_id or account_login is required."]})
    if account is None:
        raise LedgerError("No such customer or account.", code="not_found", status=404)
    return account


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
    if by is not None and not by.holds(spec.permission):
        raise LedgerError(f"Creating a {type} needs {spec.permission}.", code="permission_denied", status=403)
    if idempotency_key:
        existing = Transaction.objects.filter(created_by=by, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
    amount = to_money(amount)
    if amount <= 0:
        raise LedgerError("Amounts are positive.", fields={"amount": ["Must be greater than zero."]})
    account = _resolve_account(by=by, customer_id=customer_id, account_login=account_login)
    currency = (currency or "").upper()
    if currency != account.currency:
        raise LedgerError("The currency must be the account's.",
                          fields={"currency": [f"Account {account.login} is in {account.currency}."]})
    account = TradingAccount.objects.select_for_update().select_related("customer").get(pk=account.pk)
    customer = account.customer
    if type in GUARDED_DEBITS:
        if customer.finance_status == "frozen":
            raise LedgerError("The customer's account is frozen.", code="account_frozen", status=409)
        if amount > available_balance(account):
            raise LedgerError("Not enough available funds.", code="insufficient_funds", status=409)
    amount_usd = to_usd(amount, currency)
    tx = Transaction(account=account, customer=customer, type=type, amount=amount, currency=currency,
                     amount_usd=amount_usd, comment=comment, created_by=by, idempotency_key=idempotency_key or None,
                     provider=provider, required_role=required_role_for(amount_usd) if spec.needs_approval else "")
    try:
        with transaction.atomic():
            tx.save()
    except IntegrityError:
        existing = Transaction.objects.filter(created_by=by, idempotency_key=idempotency_key).first()
        if existing:
            return existing, False
        raise
    from customers.services import activity_record

    activity_record(customer=customer, verb="transaction.created", by=by,
                    summary=f"{type} {amount} {currency} created (#{tx.pk})",
                    data={"transaction_id": tx.pk, "type": type, "amount": str(amount), "currency": currency})
    if status == TxStatus.PROCESSING:
        tx.process()
        tx.save()
    elif not spec.needs_approval:
        tx.approve()
        tx.complete()
        tx.completed_at = timezone.now()
        tx.save()
        _post(tx, account)
        _after_completion(tx, account, by)
    return tx, True


def _lock(tx: Transaction, by) -> Transaction:
    qs = Transaction.objects.select_for_update(of=("self",)).select_related("customer", "account")
    if by is not None:
        from customers.models import Customer

        qs = qs.filter(customer__in=Customer.objects.visible_to(by))
    locked = qs.filter(pk=tx.pk).first()
    if locked is None:
        raise LedgerError("No such transaction.", code="not_found", status=404)
    return locked


@transaction.atomic
def transaction_approve(*, tx: Transaction, by) -> Transaction:
    """Approve and complete a pending transaction. Maker-checker: the creator never approves (403 maker_checker);
    the approver's level must reach the rule's (403 approval_level_insufficient). Two concurrent approvals: one
    wins, the other finds it no longer pending (409 invalid_transition)."""
    tx = _lock(tx, by)
    if not by.holds("finance.approve_transactions"):
        raise LedgerError("Approving needs finance.approve_transactions.", code="permission_denied", status=403)
    if tx.status != TxStatus.PENDING_APPROVAL:
        raise LedgerError(f"The transaction is {tx.status}, not pending approval.", code="invalid_transition",
                          status=409)
    if tx.created_by_id == by.pk:
        raise LedgerError("The creator of a transaction cannot approve it.", code="maker_checker", status=403)
    level = by.role.approval_level if by.role else "none"
    if not by.is_superuser and APPROVAL_RANK.get(level, 0) < APPROVAL_RANK.get(tx.required_role, 3):
        raise LedgerError(f"This amount needs {tx.required_role} approval.", code="approval_level_insufficient",
                          status=403)
    account = TradingAccount.objects.select_for_update().get(pk=tx.account_id)
    if tx.type in GUARDED_DEBITS:
        if tx.customer.finance_status == "frozen":
            raise LedgerError("The customer's account is frozen.", code="account_frozen", status=409)
        # Its own amount is among the pending ones: compare against the balance less the others.
        if tx.amount > available_balance(account) + tx.amount:
            raise LedgerError("Not enough available funds.", code="insufficient_funds", status=409)
    tx.approve()
    tx.approved_by = by
    tx.complete()
    tx.completed_at = timezone.now()
    tx.save()
    _post(tx, account)
    _after_completion(tx, account, by)
    _audit(by, "transaction.approved", tx)
    return tx


def _audit(by, action: str, tx: Transaction) -> None:
    from teams.services import audit_record

    audit_record(by=by, action=action, obj=tx, before={"status": TxStatus.PENDING_APPROVAL},
                 after={"status": tx.status, "type": tx.type, "amount": str(tx.amount), "currency": tx.currency,
                        "customer": tx.customer_id, "reason": tx.reason})


@transaction.atomic
def transaction_reject(*, tx: Transaction, by, reason: str) -> Transaction:
    tx = _lock(tx, by)
    if not by.holds("finance.approve_transactions"):
        raise LedgerError("Rejecting needs finance.approve_transactions.", code="permission_denied", status=403)
    if not reason.strip():
        raise LedgerError("A reason is required.", fields={"reason": ["Say why."]})
    if tx.status != TxStatus.PENDING_APPROVAL:
        raise LedgerError(f"The transaction is {tx.status}, not pending approval.", code="invalid_transition",
                          status=409)
    tx.reject()
    tx.reason = reason
    tx.approved_by = by
    tx.save()
    _audit(by, "transaction.rejected", tx)
    from customers.services import activity_record

    activity_record(customer=tx.customer, verb="transaction.rejected", by=by,
                    summary=f"{tx.type} {tx.amount} {tx.currency} rejected (#{tx.pk})", data={"reason": reason})
    return tx


@transaction.atomic
def transaction_settle(*, tx: Transaction, approved: bool, provider_reference: str = "") -> Transaction:
    """A provider's final answer on a `processing` deposit: complete (posting it) or fail. Final states never move
    back: a late or repeated notification is a no-op."""
    tx = Transaction.objects.select_for_update(of=("self",)).select_related("customer").get(pk=tx.pk)
    if tx.status != TxStatus.PROCESSING:
        return tx
    account = TradingAccount.objects.select_for_update().get(pk=tx.account_id)
    if provider_reference:
        tx.provider_reference = provider_reference
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
def customer_unfreeze(*, customer, by, reason: str):
    """Explicit, permitted unfreeze (pipelines.change_finance_status): frozen → depositor."""
    from customers.services import activity_record, customer_transition

    if not by.holds("pipelines.change_finance_status"):
        raise LedgerError("Unfreezing needs pipelines.change_finance_status.", code="permission_denied", status=403)
    customer = customer_transition(customer=customer, pipeline="finance", to="depositor", by=by, reason=reason)
    activity_record(customer=customer, verb="customer.unfrozen", by=by, summary="Unfrozen", data={"reason": reason})
    from teams.services import audit_record

    audit_record(by=by, action="customer.unfrozen", obj=customer, before={"finance_status": "frozen"},
                 after={"finance_status": customer.finance_status, "reason": reason})
    return customer


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
    for row in LedgerLine.objects.values("currency").annotate(total=Sum("amount")):
        if row["total"] != 0:
            problems.append(f"currency {row['currency']}: lines sum to {row['total']}, not 0")
    for row in LedgerLine.objects.values("transaction_id").annotate(total=Sum("amount")).exclude(total=0)[:20]:
        problems.append(f"transaction {row['transaction_id']}: lines sum to {row['total']}")
    return problems
