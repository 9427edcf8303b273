"""One posting through the API costs a fixed, small number of SQL statements, with every invariant kept: scope and
row lock in one query (which also reads the KYC rules and takes the new transaction's id), the balance check for
debits, then one statement (issue #16) for the transaction (completed), its two ledger lines, both activity
entries, a deposit's customer times and the balance moved and read back (UPDATE … RETURNING), the event after
commit, and no read of rows already in hand."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from brokercrm.events import domain_event
from customers.models import Activity, Customer
from ledger.models import LedgerLine, Transaction
from ledger.services import ledger_verify
from teams.tests.factories import demo_staff
from teams.tokens import token_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """Only the demo's staff (teams.tests.factories.demo_staff); `funded` builds its customer of the agent."""
    return demo_staff()


# token lookup, savepoint (BEGIN in production), scope + row lock (with the broker's KYC rules and the new
# transaction's id, read in the same statement), then one statement (issue #16) for the transaction, its ledger lines,
# both activity entries, a deposit's customer times and the balance, release (COMMIT in production); guarded debits
# (fees, withdrawals) also read the available funds under the lock
QUERIES_PER_POSTING = 5
AVAILABLE_FUNDS_READ = {"fee": 1, "withdrawal": 1}
KYC_RULES_READ: dict[str, int] = {}


def _client(user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user, name='t')[1]}")
    client.get("/api/health")
    return client


@pytest.mark.parametrize(("kind", "amount", "delta"), [("deposit", "25.00", Decimal("25.00")),
                                                       ("fee", "3.00", Decimal("-3.00"))])
def test_one_posting_costs_a_fixed_number_of_queries(funded, demo, django_capture_on_commit_callbacks, kind,
                                                     amount, delta):
    client = _client(demo["admin"])
    body = {"type": kind, "amount": amount, "currency": "USD", "account_login": funded.login}
    assert client.post("/api/backoffice/transactions", body, format="json").status_code == 201  # token's first use
    funded.refresh_from_db()
    before = funded.balance
    last_deposit_at = Customer.objects.get(pk=funded.customer_id).last_deposit_at
    events = []

    def receiver(sender, name, payload, **kw):
        events.append((name, payload))

    domain_event.connect(receiver, weak=False, dispatch_uid="test-posting-queries")
    try:
        with django_capture_on_commit_callbacks(execute=True), CaptureQueriesContext(connection) as captured:
            response = client.post("/api/backoffice/transactions", body, format="json")
    finally:
        domain_event.disconnect(dispatch_uid="test-posting-queries")
    assert response.status_code == 201, response.content
    statements = [q["sql"] for q in captured.captured_queries]
    expected = QUERIES_PER_POSTING + AVAILABLE_FUNDS_READ.get(kind, 0) + KYC_RULES_READ.get(kind, 0)
    assert len(statements) == expected, "\n".join(statements)
    assert any("FOR UPDATE" in s and "ledger_tradingaccount" in s for s in statements)  # the row lock
    if kind == "fee":
        assert any("SUM" in s for s in statements)  # the available-funds check under the lock
    tx = Transaction.objects.get(pk=response.json()["id"])
    assert tx.status == "completed" and tx.completed_at is not None
    assert response.json()["status"] == "completed" and response.json()["payout"] is None
    funded.refresh_from_db()
    assert funded.balance == before + delta
    customer = Customer.objects.get(pk=funded.customer_id)
    if kind == "deposit":  # the customer's times, written in the posting's statement
        assert customer.last_deposit_at == customer.last_activity_at
        assert last_deposit_at < customer.last_deposit_at
        assert abs(customer.last_deposit_at - tx.completed_at) < timedelta(seconds=5)
    else:
        assert customer.last_deposit_at == last_deposit_at
    assert LedgerLine.objects.filter(transaction=tx).count() == 2
    verbs = list(Activity.objects.filter(data__transaction_id=tx.pk).order_by("id").values_list("verb", flat=True))
    assert verbs == ["transaction.created", "transaction.completed"]
    assert [n for n, p in events if p.get("transaction_id") == tx.pk] == ["transaction.completed"]
    assert ledger_verify() == []


def test_a_fee_beyond_the_available_funds_is_still_refused(funded, demo):
    client = _client(demo["admin"])
    response = client.post("/api/backoffice/transactions", {"type": "fee", "amount": "5000.00", "currency": "USD",
                                                            "account_login": funded.login}, format="json")
    assert response.status_code == 409 and response.json()["code"] == "insufficient_funds"
    funded.refresh_from_db()
    assert funded.balance == Decimal("1000.00")


def _post(client, **body):
    return client.post("/api/backoffice/transactions", {"type": "withdrawal", "amount": "1.00", "currency": "USD",
                                                        **body}, format="json")


def test_the_locked_read_keeps_the_view_scope_by_login_and_by_customer(funded, demo):
    """The account is read by fixed SQL (brokercrm.rows); the scope is still `Customer.objects.visible_to`: an agent
    posts to their own customer's account by login or by customer, another team's is 404 either way."""
    from ledger.tests.factories import customer_with_account

    other = customer_with_account("BR", n=3, assigned_to=demo["agent4"]).accounts.first()
    agent = _client(demo["agent"])
    assert _post(agent, account_login=funded.login).status_code == 201
    assert _post(agent, customer_id=funded.customer_id).status_code == 201
    for body in ({"account_login": other.login}, {"customer_id": other.customer_id}):
        response = _post(agent, **body)
        assert response.status_code == 404 and response.json()["code"] == "not_found", body
    admin = _client(demo["admin"])  # scope "all": no scope condition at all
    assert _post(admin, type="deposit", account_login=other.login).status_code == 201
    if connection.vendor == "postgresql":  # only the unscoped read is prepared (a scope is planned for its values)
        with connection.cursor() as cursor:
            cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE %s",
                           ["%ledger_tradingaccount%FOR UPDATE%"])
            locked_reads = [row[0] for row in cursor.fetchall()]
        assert locked_reads and not any(" IN (SELECT" in statement for statement in locked_reads)
    assert Transaction.objects.filter(account=funded, type="withdrawal").count() == 2  # pending approval
    assert not Transaction.objects.filter(account=other, type="withdrawal").exists() and ledger_verify() == []


@pytest.mark.parametrize("body", [{"account_login": 2**63}, {"customer_id": 2**63}, {"account_login": -(2**63) - 1},
                                  {"account_login": 0}])
def test_a_login_or_customer_beyond_the_column_range_is_404_not_500(funded, demo, body):
    response = _post(_client(demo["admin"]), **body)
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.django_db(transaction=True)
def test_an_out_of_scope_account_is_not_locked(demo):
    """Scope and row lock are one statement: a row outside the caller's scope is never locked (nor waited for)."""
    import threading

    import psycopg

    from ledger.tests.factories import customer_with_account

    mine = customer_with_account("GB", n=8, assigned_to=demo["agent"]).accounts.first()
    other = customer_with_account("BR", n=9, assigned_to=demo["agent4"]).accounts.first()
    agent = _client(demo["agent"])
    settings = connection.settings_dict
    holder = psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                             password=settings["PASSWORD"], dbname=settings["NAME"])
    try:  # another transaction holds both accounts' rows
        holder.execute("SELECT 1 FROM ledger_tradingaccount WHERE id IN (%s, %s) FOR UPDATE", [mine.pk, other.pk])
        answers = {}

        def post(name, login):
            try:
                answers[name] = _post(agent, type="deposit", account_login=login).status_code
            finally:
                connection.close()  # this thread's own connection

        out_of_scope = threading.Thread(target=post, args=("other", other.login))
        out_of_scope.start()
        out_of_scope.join(10)
        assert answers.get("other") == 404  # answered at once: the locked row was never in its result
        in_scope = threading.Thread(target=post, args=("mine", mine.login))
        in_scope.start()
        in_scope.join(1)
        assert "mine" not in answers  # its own account: waits for the lock, as a posting must
    finally:
        holder.rollback()
        holder.close()
    in_scope.join(10)
    assert answers["mine"] == 201


def test_the_kyc_rules_read_with_the_lock_are_fresh_and_a_refusal_writes_nothing(funded, demo):
    """The KYC rules come with the row lock, read anew by every posting: a rule changed between two postings applies
    to the second. A refused posting (its id already taken from the sequence) leaves no transaction, line or
    activity behind."""
    from customers.kyc.models import KycSettings

    client = _client(demo["admin"])
    body = {"type": "deposit", "amount": "600.00", "currency": "USD", "account_login": funded.login}
    assert client.post("/api/backoffice/transactions", body, format="json").status_code == 201
    rules = KycSettings.current()
    rules.gate_deposits_above_usd = Decimal("500.00")
    rules.save()
    counts = (Transaction.objects.count(), LedgerLine.objects.count(), Activity.objects.count())
    response = client.post("/api/backoffice/transactions", body, format="json")
    assert response.status_code == 409 and response.json()["code"] == "kyc_required"
    assert (Transaction.objects.count(), LedgerLine.objects.count(), Activity.objects.count()) == counts
    funded.refresh_from_db()
    assert funded.balance == Decimal("1600.00") and ledger_verify() == []
    rules.gate_deposits_above_usd = None
    rules.save()
    assert client.post("/api/backoffice/transactions", body, format="json").status_code == 201


@pytest.mark.django_db(transaction=True)
def test_kyc_rules_changed_while_a_posting_waits_for_the_lock_apply_to_it(demo):
    """A posting that has to wait for its account's lock reads the KYC rules after the wait (the fast read, which
    brings them with the lock, never waits: SKIP LOCKED): rules tightened meanwhile refuse it, as they would have
    before issue #16's change."""
    import threading
    import time

    import psycopg

    from customers.kyc.models import KycSettings
    from ledger.services import transaction_create
    from ledger.tests.factories import customer_with_account

    account = customer_with_account("GB", n=21, assigned_to=demo["agent"]).accounts.first()
    KycSettings.objects.filter(pk=KycSettings.current().pk).update(gate_deposits_above_usd=None)
    settings = connection.settings_dict

    def raw():
        return psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                               password=settings["PASSWORD"], dbname=settings["NAME"])

    holder = raw()
    holder.execute("SELECT 1 FROM ledger_tradingaccount WHERE id = %s FOR UPDATE", [account.pk])
    result = {}

    def post():
        try:
            result["ok"] = transaction_create(by=demo["admin"], type="deposit", amount="500.00", currency="USD",
                                              account_login=account.login)[0].pk
        except Exception as error:  # noqa: BLE001 — the outcome is what the test reads
            result["error"] = error
        finally:
            connection.close()

    waiting = threading.Thread(target=post)
    try:
        waiting.start()
        time.sleep(1.0)  # the posting waits on the row lock
        assert not result
        with raw() as admin:
            admin.execute(f'UPDATE "{KycSettings._meta.db_table}" SET gate_deposits_above_usd = 100')
    finally:
        holder.commit()
        holder.close()
    waiting.join(30)
    assert type(result.get("error")).__name__ == "KycRequired", result
    assert not Transaction.objects.filter(account=account).exists()
