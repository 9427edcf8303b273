"""The trading-platform bridge: platform users for our accounts, deals for our money movements, exactly once.

Reactions to domain events (`customer.registered` on every registration path, `transaction.completed`), done by
Celery tasks with retries and backoff. Nothing here runs for the built-in simulator, which keeps its state in
our ledger; with `TRADING_PLATFORM=mt5` the MT5 Web API (crm.trading.mt5) is the platform.

- Accounts: every trading account gets a platform user (`user/add`) with the same login and the comment
  `crm:account:<id>`; a retry after a lost answer finds the user (`user/get`) instead of adding it twice.
- Money: every completed movement posts one `trade/balance` deal whose comment is `crm:<transaction id>`; before
  posting again after a failure, the bridge looks for that comment among the account's deals.
- A failure is never silent: the row stays pending with its last error and next attempt; after the last attempt
  it is `failed`, the customer page says so, and a task goes to the customer's agent (else the alert team).
"""

from __future__ import annotations

import logging
import secrets
import threading
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from ledger.models import TradingAccount, Transaction, TxStatus
from ledger.types import TYPES

from . import mt5
from .models import PlatformAccount, PlatformDeal, SyncStatus, deal_comment

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)  # a claimed row is retried by someone else after this if its worker died
BATCH = 100


def enabled() -> bool:
    return settings.TRADING_PLATFORM == "mt5"


# --- one client per process (one keep-alive connection holds the manager login) ----------------------------------

_client: mt5.MT5Client | None = None
_client_key: tuple | None = None
_client_lock = threading.Lock()


def client() -> mt5.MT5Client:
    global _client, _client_key
    key = (settings.MT5_WEBAPI_URL, settings.MT5_MANAGER_LOGIN, settings.MT5_MANAGER_PASSWORD)
    with _client_lock:
        if _client is None or _client_key != key:
            if _client is not None:
                _client.close()
            _client = mt5.MT5Client(settings.MT5_WEBAPI_URL, settings.MT5_MANAGER_LOGIN,
                                    settings.MT5_MANAGER_PASSWORD, timeout=settings.MT5_TIMEOUT_SECONDS,
                                    verify=settings.MT5_VERIFY_TLS)
            _client_key = key
        return _client


def reset_client() -> None:
    global _client, _client_key
    with _client_lock:
        if _client is not None:
            _client.close()
        _client, _client_key = None, None


def group_for(account: TradingAccount) -> str:
    """The platform group a new account joins: per currency (`MT5_GROUPS`, e.g. `EUR=real\\eur`), else MT5_GROUP."""
    return settings.MT5_GROUPS.get(account.currency, settings.MT5_GROUP)


def deal_type_for(tx_type: str) -> int:
    spec = TYPES[tx_type]
    if spec.bucket == "credit":
        return mt5.DEAL_CREDIT
    if tx_type in ("bonus_in", "bonus_out"):
        return mt5.DEAL_BONUS
    if tx_type in ("correction_in", "correction_out"):
        return mt5.DEAL_CORRECTION
    if tx_type == "fee":
        return mt5.DEAL_CHARGE
    return mt5.DEAL_BALANCE


def _backoff(attempts: int) -> timedelta:
    return timedelta(seconds=min(2 ** attempts, 3600))


def _error_text(exc: Exception) -> str:
    return f"{exc.__class__.__name__}: {exc}"[:255]


# --- reactions to domain events ----------------------------------------------------------------------------------

def on_domain_event(sender, name: str, payload: dict, **kwargs) -> None:
    if not enabled():
        return
    from . import tasks

    if name == "customer.registered":
        # Imports announce thousands of registrations: one sweep picks them all up (deduplicated kick).
        if cache.add("platform:kick:accounts", 1, timeout=2):
            tasks.platform_accounts_sync.delay()
    elif name in ("transaction.completed", "transaction.reversed", "withdrawal.debited"):
        # A withdrawal's balance moves when it is approved (the payout follows): its deal goes out then, and its
        # completion finds the deal already there.
        deal_enqueue(payload["transaction_id"])
        tasks.platform_deals_sync.delay()
    elif name == "transaction.failed":
        deal = deal_enqueue(payload["transaction_id"], leg=PlatformDeal.Leg.RETURN)
        if deal is not None:
            tasks.platform_deals_sync.delay()


# --- accounts ----------------------------------------------------------------------------------------------------

def accounts_enqueue_missing(limit: int = 5000) -> int:
    """Create pending rows for trading accounts that have no platform user yet (new ones, or all on first use)."""
    ids = list(TradingAccount.objects.filter(platform__isnull=True, login__isnull=False)
               .order_by("id").values_list("id", flat=True)[:limit])
    PlatformAccount.objects.bulk_create([PlatformAccount(account_id=i, platform="mt5") for i in ids],
                                        ignore_conflicts=True)
    return len(ids)


def _claim(model, pk: int | None = None):
    """Lease one due row (SKIP LOCKED): concurrent workers never work on the same row."""
    now = timezone.now()
    with transaction.atomic():
        qs = model.objects.select_for_update(skip_locked=True).filter(status=SyncStatus.PENDING,
                                                                      next_attempt_at__lte=now)
        if pk is not None:
            qs = qs.filter(pk=pk)
        row = qs.order_by("next_attempt_at", "id").first()
        if row is None:
            return None
        row.attempts += 1
        row.next_attempt_at = now + LEASE
        row.save(update_fields=["attempts", "next_attempt_at"])
        return row


def _record_failure(row, exc: Exception, *, what: str) -> None:
    row.last_error = _error_text(exc)
    if row.attempts >= settings.PLATFORM_SYNC_MAX_ATTEMPTS:
        row.status = SyncStatus.FAILED
        row.save(update_fields=["status", "last_error"])
        _alert(row, what)
    else:
        row.next_attempt_at = timezone.now() + _backoff(row.attempts)
        row.save(update_fields=["next_attempt_at", "last_error"])
    log.warning("platform %s #%s attempt %s failed: %s", what, row.pk, row.attempts, row.last_error)


def _alert(row, what: str) -> None:
    from crm.services import task_create_for_owner

    account = TradingAccount.objects.select_related("customer").get(pk=row.account_id)
    task_create_for_owner(customer=account.customer, team_name=settings.PLATFORM_ALERT_TEAM,
                          title=f"Trading platform: {what} for account {account.login} failed — retry from the "
                                f"customer page")


def account_sync_one(row: PlatformAccount) -> None:
    account = TradingAccount.objects.select_related("customer").get(pk=row.account_id)
    marker = f"crm:account:{account.pk}"
    api = client()
    try:
        existing = api.user_get(account.login)
        if existing is not None and str(existing.get("Comment", "")) != marker:
            raise mt5.MT5Error(mt5.RET_USER_EXISTS, f"login {account.login} belongs to another platform user",
                               "user/get")
        if existing is None:
            customer = account.customer
            try:
                api.user_add(login=account.login, group=group_for(account),
                             name=f"{customer.first_name} {customer.last_name}".strip()[:128],
                             leverage=settings.MT5_LEVERAGE, country=customer.country, comment=marker,
                             pass_main=_password(), pass_investor=_password())
            except mt5.MT5Error as exc:
                # An earlier add whose answer was lost: the user is there, with our marker.
                if exc.retcode != mt5.RET_USER_EXISTS or str((api.user_get(account.login) or {}).get(
                        "Comment", "")) != marker:
                    raise
    except (mt5.MT5Error, mt5.MT5Unavailable) as exc:
        _record_failure(row, exc, what="account creation")
        return
    row.status = SyncStatus.DONE
    row.group = group_for(account)
    row.synced_at = timezone.now()
    row.last_error = ""
    row.save(update_fields=["status", "group", "synced_at", "last_error"])
    # Movements that completed while the user was pending go out now.
    PlatformDeal.objects.filter(account_id=account.pk, status=SyncStatus.PENDING).update(
        next_attempt_at=timezone.now())


def _password() -> str:
    """Platform passwords are random and never stored: the trader sets their own through the platform."""
    return secrets.token_urlsafe(9) + "aA1!"


def accounts_sync(limit: int = BATCH) -> int:
    if not enabled():
        return 0
    accounts_enqueue_missing()
    done = 0
    while done < limit and (row := _claim(PlatformAccount)) is not None:
        account_sync_one(row)
        done += 1
    return done


# --- deals -------------------------------------------------------------------------------------------------------

def deal_enqueue(transaction_id: int, leg: str = PlatformDeal.Leg.MOVE) -> PlatformDeal | None:
    """The deal a movement owes the platform (idempotent). `move`: the movement once its balance moved (completed,
    or a withdrawal approved and awaiting payout); `return`: a withdrawal whose payout failed gives the money back,
    only if its debit went to the platform."""
    tx = Transaction.objects.filter(pk=transaction_id).first()
    if tx is None:
        return None
    sign = TYPES[tx.type].sign * (-1 if getattr(tx, "reverses_id", None) else 1)  # a reversal undoes its type
    if leg == PlatformDeal.Leg.RETURN:
        if not PlatformDeal.objects.filter(transaction=tx, leg=PlatformDeal.Leg.MOVE).exists():
            return None
        sign = -sign
    elif tx.status not in (TxStatus.COMPLETED, getattr(TxStatus, "PAYOUT_PENDING", TxStatus.COMPLETED)):
        return None
    deal, _ = PlatformDeal.objects.get_or_create(
        transaction=tx, leg=leg, defaults={"account_id": tx.account_id, "deal_type": deal_type_for(tx.type),
                                           "amount": (tx.amount * sign).quantize(Decimal("0.01"))})
    return deal


def deal_sync_one(row: PlatformDeal) -> None:
    account = TradingAccount.objects.get(pk=row.account_id)
    user = PlatformAccount.objects.filter(account_id=account.pk).first()
    if user is None or user.status != SyncStatus.DONE:
        # The platform user is not there yet: wait for it without spending an attempt.
        row.attempts -= 1
        row.next_attempt_at = timezone.now() + timedelta(seconds=30)
        row.save(update_fields=["attempts", "next_attempt_at"])
        if user is None:
            accounts_enqueue_missing()
        return
    api = client()
    comment = deal_comment(row.transaction_id, row.leg)
    try:
        ticket = None
        if row.attempts > 1:  # an earlier attempt may have posted and lost its answer: look before posting
            since = int((row.created_at - timedelta(days=1)).timestamp())
            for deal in api.deals(account.login, since=since):
                if str(deal.get("Comment", "")) == comment:
                    ticket = int(deal.get("Deal") or 0)
                    break
        if ticket is None:
            ticket = api.trade_balance(login=account.login, deal_type=row.deal_type, amount=row.amount,
                                       comment=comment)
    except (mt5.MT5Error, mt5.MT5Unavailable) as exc:
        _record_failure(row, exc, what=f"posting transaction #{row.transaction_id} ({row.leg})")
        return
    row.status = SyncStatus.DONE
    row.ticket = ticket
    row.posted_at = timezone.now()
    row.last_error = ""
    row.save(update_fields=["status", "ticket", "posted_at", "last_error"])


def deals_sync(limit: int = BATCH) -> int:
    if not enabled():
        return 0
    done = 0
    while done < limit and (row := _claim(PlatformDeal)) is not None:
        deal_sync_one(row)
        done += 1
    return done


# --- what an agent sees and does ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class SyncState:
    status: str  # "pending", "done", "failed" or "local" (the simulator: nothing to sync)
    last_error: str
    failed_deals: int
    pending_deals: int

    def as_dict(self) -> dict:
        return {"status": self.status, "last_error": self.last_error, "failed_deals": self.failed_deals,
                "pending_deals": self.pending_deals}


def sync_state(account: TradingAccount) -> SyncState:
    if not enabled():
        return SyncState("local", "", 0, 0)
    row = PlatformAccount.objects.filter(account_id=account.pk).first()
    deals = PlatformDeal.objects.filter(account_id=account.pk)
    return SyncState(row.status if row else SyncStatus.PENDING, row.last_error if row else "",
                     deals.filter(status=SyncStatus.FAILED).count(), deals.filter(status=SyncStatus.PENDING).count())


def retry(account: TradingAccount) -> SyncState:
    """An agent's retry: failed (or waiting) account creation and deals start again at once."""
    now = timezone.now()
    PlatformAccount.objects.filter(account_id=account.pk).exclude(status=SyncStatus.DONE).update(
        status=SyncStatus.PENDING, attempts=0, next_attempt_at=now)
    PlatformDeal.objects.filter(account_id=account.pk).exclude(status=SyncStatus.DONE).update(
        status=SyncStatus.PENDING, attempts=1, next_attempt_at=now)  # attempts>1 next: look up before posting
    if not PlatformAccount.objects.filter(account_id=account.pk).exists():
        PlatformAccount.objects.create(account=account, platform="mt5")
    from . import tasks

    transaction.on_commit(lambda: (tasks.platform_accounts_sync.delay(), tasks.platform_deals_sync.delay()))
    return sync_state(account)


# --- reconciliation ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Drift:
    login: int
    field: str
    ledger: Decimal | None
    platform: Decimal | None


def reconcile(batch: int = 200) -> list[Drift]:
    """Ledger balance and credit against the platform's, for every account with a platform user."""
    out: list[Drift] = []
    rows = (TradingAccount.objects.filter(platform__status=SyncStatus.DONE).order_by("login")
            .values_list("login", "balance", "credit"))
    api = client()
    chunk: list[tuple] = []

    def flush():
        states = api.accounts([login for login, _, _ in chunk])
        for login, balance, credit in chunk:
            state = states.get(login)
            if state is None:
                out.append(Drift(login, "missing", None, None))
                continue
            if state.balance != balance:
                out.append(Drift(login, "balance", balance, state.balance))
            if state.credit != credit:
                out.append(Drift(login, "credit", credit, state.credit))
        chunk.clear()

    for row in rows.iterator(chunk_size=batch):
        chunk.append(row)
        if len(chunk) >= batch:
            flush()
    if chunk:
        flush()
    return out


# --- trading activity for retention ------------------------------------------------------------------------------

def trading_activity(since: int, until: int) -> dict[int, int]:
    """{login: last Unix time of a deal or an open position} in the configured groups."""
    api = client()
    seen: dict[int, int] = {}
    groups = {settings.MT5_GROUP, *settings.MT5_GROUPS.values()}
    for group in groups:
        for deal in api.group_deals(group, since=since, until=until):
            login, at = int(deal.get("Login") or 0), int(deal.get("Time") or 0)
            if deal.get("Action") in ("0", "1", 0, 1):  # buy/sell deals are trading; balance deals are ours
                seen[login] = max(seen.get(login, 0), at)
        for position in api.group_positions(group):
            seen[int(position.get("Login") or 0)] = until  # an open position is activity now
    seen.pop(0, None)
    return seen
