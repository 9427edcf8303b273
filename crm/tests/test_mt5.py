"""The MT5 bridge against a local MT5 Web API server over real HTTP: handshake, sessions, retcodes, timeouts,
accounts on every registration, one deal per movement even after a lost answer, live state, reconciliation."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from crm.models import PlatformAccount, PlatformDeal, Task
from crm.tests.factories import customers_across_the_tree
from crm.tests.fake_mt5 import FakeMT5
from crm.trading import activity, bridge, feed, mt5
from customers.models import Customer
from customers.tests.factories import registration_setup
from ledger.models import TradingAccount
from ledger.services import transaction_create
from ledger.tests.factories import funded_account
from teams.tests.factories import demo_staff


@pytest.fixture
def demo(db):
    """The demo's staff and registration set-up, one customer of each of the demo's owners (the newest without
    agent or team, as in the demo), and agent2's customer funded with 1000.00 USD."""
    staff = demo_staff()
    registration_setup()
    customers = customers_across_the_tree(staff, per_owner=1)
    funded_account(customers[1], by=staff["admin"])
    return staff


@pytest.fixture
def demo_committed(transactional_db):
    """For the end-to-end test: the demo's staff (the admin signs in) and the registration set-up, committed so
    that the web, worker and feed processes see them."""
    staff = demo_staff()
    registration_setup()
    return staff


PASSWORD = "manager-secret"


@pytest.fixture
def fake():
    server = FakeMT5(manager_login="1001", password=PASSWORD)
    url = server.start()
    server.url = url
    yield server
    bridge.reset_client()
    server.stop()


@pytest.fixture
def mt5_on(fake):
    with override_settings(TRADING_PLATFORM="mt5", MT5_WEBAPI_URL=fake.url, MT5_MANAGER_LOGIN="1001",
                           MT5_MANAGER_PASSWORD=PASSWORD, MT5_GROUP="real\\standard", MT5_GROUPS={"EUR": "real\\eur"},
                           MT5_TIMEOUT_SECONDS=2, PLATFORM_SYNC_MAX_ATTEMPTS=3):
        bridge.reset_client()
        yield fake
    bridge.reset_client()


def client_for_fake(fake, password=PASSWORD, timeout=2.0):
    return mt5.MT5Client(fake.url, "1001", password, timeout=timeout)


# --- the protocol ------------------------------------------------------------------------------------------------

def test_handshake_hash_matches_the_documented_formula():
    pw = mt5.password_hash("Päss")
    import hashlib

    assert pw == hashlib.md5(hashlib.md5("Päss".encode("utf-16-le")).digest() + b"WebAPI").digest()
    assert mt5.answer_for(pw, "00ff") == hashlib.md5(pw + b"\x00\xff").hexdigest()


def test_handshake_and_one_keep_alive_connection(fake):
    api = client_for_fake(fake)
    api.authorize()
    for _ in range(5):
        assert api.user_get(424242) is None  # "13 Not found" is an answer, not an error
    assert fake.logins == 1 and fake.connections == 1  # the login belongs to the one connection
    api.close()


def test_wrong_password_is_refused(fake):
    with pytest.raises(mt5.MT5AuthError) as info:
        client_for_fake(fake, password="wrong").authorize()
    assert info.value.retcode == 1002


def test_a_server_that_cannot_prove_itself_is_refused(fake):
    fake.wrong_server_answer = True
    with pytest.raises(mt5.MT5AuthError, match="cli_rand_answer"):
        client_for_fake(fake).authorize()


def test_expired_session_logs_in_again_for_a_read(fake):
    api = client_for_fake(fake)
    assert api.user_get(1) is None
    fake.expire_sessions()
    assert api.user_get(1) is None
    assert fake.logins == 2


def test_retcode_errors_and_timeouts(fake):
    api = client_for_fake(fake, timeout=0.5)
    fake.fail_next["user/account/get"] = ["10 No connection"]
    with pytest.raises(mt5.MT5Error) as info:
        api.account(1)
    assert info.value.retcode == 10
    fake.delay["user/get"] = 1.5
    with pytest.raises(mt5.MT5Unavailable):
        api.user_get(1)
    fake.delay.clear()
    assert api.user_get(1) is None  # a new connection, a new login, and on it goes


# --- the bridge --------------------------------------------------------------------------------------------------

def _register(api_client, email="trader@example.org"):
    response = api_client.post("/api/customer/register", {
        "email": email, "password": "TestPass1234x", "first_name": "Tess", "last_name": "Trader",
        "phone": "+447911123456", "country": "GB", "source": "organic"}, format="json")
    assert response.status_code == 201, response.content
    return Customer.objects.get(pk=response.json()["id"])


@pytest.mark.django_db
def test_registration_creates_the_platform_user_deposit_posts_one_deal(mt5_on, demo, api):
    fake = mt5_on
    customer = _register(api)
    account = customer.accounts.get()
    bridge.accounts_sync()
    row = PlatformAccount.objects.get(account=account)
    assert row.status == "done"
    user = fake.users[account.login]  # the MT5 login is the trading account's login
    assert user["Group"] == "real\\standard" and user["Comment"] == f"crm:account:{account.pk}"
    assert user["Name"] == "Tess Trader" and "Email" not in user  # no contact details leave the CRM

    tx, _ = transaction_create(by=demo["admin"], type="deposit", amount="250.00", currency="USD",
                               customer_id=customer.pk)
    assert tx.status == "completed"
    bridge.deal_enqueue(tx.pk)
    assert bridge.deals_sync() == 1
    deals = fake.balance_deals(account.login)
    assert len(deals) == 1 and deals[0]["Action"] == "2" and deals[0]["Profit"] == "250.00"
    assert deals[0]["Comment"] == f"crm:{tx.pk}"
    # A retry (an agent's, or a replayed event) posts nothing more.
    bridge.deal_enqueue(tx.pk)
    bridge.retry(account)
    bridge.deals_sync()
    assert len(fake.balance_deals(account.login)) == 1
    assert PlatformDeal.objects.get(transaction=tx).ticket == int(deals[0]["Deal"])


@pytest.mark.django_db
def test_each_movement_type_posts_its_deal_type(mt5_on, demo):
    fake = mt5_on
    customer = Customer.objects.filter(accounts__currency="USD").first()
    account = customer.accounts.filter(currency="USD").first()
    bridge.accounts_sync(limit=10_000)
    assert PlatformAccount.objects.get(account=account).status == "done"
    expected = {"deposit": 2, "credit_in": 3, "fee": 4, "bonus_in": 6, "correction_in": 5}
    for kind in expected:
        tx, _ = transaction_create(by=demo["admin"], type=kind, amount="10.00", currency="USD",
                                   customer_id=customer.pk, status="completed" if kind == "deposit" else None)
        if tx.status != "completed":
            from ledger.services import transaction_approve

            tx = transaction_approve(tx=tx, by=demo["compliance"])
        bridge.deal_enqueue(tx.pk)
    bridge.deals_sync()
    posted = {d["Comment"]: int(d["Action"]) for d in fake.balance_deals(account.login)}
    assert sorted(posted.values()) == sorted(expected.values())
    fee = [d for d in fake.balance_deals(account.login) if d["Action"] == "4"][0]
    assert fee["Profit"] == "-10.00"  # a charge takes money off


@pytest.mark.django_db
def test_a_reversal_posts_the_opposite_deal(mt5_on, demo):
    from ledger.services import transaction_approve, transaction_reverse

    fake = mt5_on
    customer = Customer.objects.filter(accounts__currency="USD").first()
    account = customer.accounts.filter(currency="USD").first()
    bridge.accounts_sync(limit=10_000)
    tx, _ = transaction_create(by=demo["admin"], type="deposit", amount="40.00", currency="USD",
                               customer_id=customer.pk)
    bridge.deal_enqueue(tx.pk)
    reversal = transaction_reverse(tx=tx, by=demo["admin"], reason="sent twice by the bank")
    reversal = transaction_approve(tx=reversal, by=demo["compliance"])
    assert reversal.status == "completed"
    bridge.deal_enqueue(reversal.pk)
    bridge.deals_sync()
    assert sorted(d["Profit"] for d in fake.balance_deals(account.login)) == ["-40.00", "40.00"]


@pytest.mark.django_db
def test_withdrawal_leaves_the_platform_when_approved_and_returns_if_the_payout_fails(mt5_on, demo):
    from ledger.payouts import payout_complete, payout_fail
    from ledger.services import transaction_approve

    fake = mt5_on
    customer = Customer.objects.filter(accounts__currency="USD", accounts__balance__gte=100).first()
    account = customer.accounts.filter(currency="USD").first()
    bridge.accounts_sync(limit=10_000)
    first, _ = transaction_create(by=demo["admin"], type="withdrawal", amount="30.00", currency="USD",
                                  customer_id=customer.pk)
    first = transaction_approve(tx=first, by=demo["compliance"])
    assert first.status == "payout_pending"
    bridge.deal_enqueue(first.pk)
    bridge.deals_sync()
    assert [d["Profit"] for d in fake.balance_deals(account.login)] == ["-30.00"]
    payout_fail(tx=first, by=demo["compliance"], reason="bank refused")
    assert bridge.deal_enqueue(first.pk, leg="return") is not None
    bridge.deals_sync()
    assert [d["Profit"] for d in fake.balance_deals(account.login)] == ["-30.00", "30.00"]
    assert fake.balance_deals(account.login)[1]["Comment"] == f"crm:{first.pk}:r"

    second, _ = transaction_create(by=demo["admin"], type="withdrawal", amount="20.00", currency="USD",
                                   customer_id=customer.pk)
    second = transaction_approve(tx=second, by=demo["compliance"])
    bridge.deal_enqueue(second.pk)
    bridge.deals_sync()
    payout_complete(tx=second, by=demo["compliance"], reference="BANK-1")
    bridge.deal_enqueue(second.pk)  # its completion: the deal is already there
    bridge.deals_sync()
    assert [d["Profit"] for d in fake.balance_deals(account.login)] == ["-30.00", "30.00", "-20.00"]


@pytest.mark.django_db
def test_lost_answer_never_posts_twice(mt5_on, demo):
    fake = mt5_on
    customer = Customer.objects.first()
    account = customer.accounts.first()
    bridge.accounts_sync(limit=10_000)
    tx, _ = transaction_create(by=demo["admin"], type="deposit", amount="100.00", currency=account.currency,
                               customer_id=customer.pk)
    bridge.deal_enqueue(tx.pk)
    fake.drop_answer["trade/balance"] = 1  # the deal is booked, the answer is lost
    bridge.deals_sync()
    row = PlatformDeal.objects.get(transaction=tx)
    assert row.status == "pending" and "MT5Unavailable" in row.last_error
    assert len(fake.balance_deals(account.login)) == 1
    PlatformDeal.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    bridge.deals_sync()
    row.refresh_from_db()
    assert row.status == "done" and row.ticket == int(fake.balance_deals(account.login)[0]["Deal"])
    assert len(fake.balance_deals(account.login)) == 1


@pytest.mark.django_db
def test_lost_answer_of_user_add_finds_the_user(mt5_on, demo, api):
    fake = mt5_on
    bridge.accounts_sync(limit=10_000)  # the demo's accounts first
    fake.drop_answer["user/add"] = 1
    customer = _register(api, "lost@example.org")
    account = customer.accounts.get()
    bridge.accounts_sync(limit=10_000)
    row = PlatformAccount.objects.get(account=account)
    assert row.status == "pending" and account.login in fake.users
    PlatformAccount.objects.filter(pk=row.pk).update(next_attempt_at=timezone.now())
    bridge.accounts_sync(limit=10_000)
    row.refresh_from_db()
    assert row.status == "done"


@pytest.mark.django_db
def test_failure_is_visible_with_a_task_and_an_agent_retries(mt5_on, demo, api, client_for):
    fake = mt5_on
    customer = Customer.objects.filter(assigned_to=demo["agent"]).first()
    account = customer.accounts.first()
    bridge.accounts_enqueue_missing()
    PlatformAccount.objects.exclude(account=account).update(status="done")
    for _ in range(3):
        fake.fail_next.setdefault("user/add", []).append("10 No connection")
        PlatformAccount.objects.filter(account=account).update(next_attempt_at=timezone.now())
        bridge.accounts_sync(limit=1)
    row = PlatformAccount.objects.get(account=account)
    assert row.status == "failed" and row.attempts == 3 and "No connection" in row.last_error
    task = Task.objects.get(customer=customer, title__contains="Trading platform")
    assert task.assignee == demo["agent"]  # the customer's agent owns it

    agent = client_for("agent")
    body = agent.get(f"/api/crm/accounts/{account.login}").json()
    assert body["platform"]["status"] == "failed"
    from django.test import Client

    browser = Client()
    browser.force_login(demo["admin"])
    page = browser.get(f"/customers/{customer.pk}/").content.decode()
    assert f'data-testid="platform-{account.login}"' in page and "failed" in page and ">Retry</button>" in page
    response = client_for("admin").post(f"/api/crm/accounts/{account.login}/platform/retry")
    assert response.status_code == 202 and response.json()["platform"]["status"] == "pending"
    bridge.accounts_sync(limit=10_000)
    assert PlatformAccount.objects.get(account=account).status == "done"


@pytest.mark.django_db
def test_retry_is_refused_outside_scope_and_without_a_platform(demo, client_for, fake):
    account = Customer.objects.exclude(assigned_to=demo["agent"]).exclude(
        pk__in=Customer.objects.visible_to(demo["agent"])).first().accounts.first()
    assert client_for("agent").post(f"/api/crm/accounts/{account.login}/platform/retry").status_code in (403, 404)
    response = client_for("admin").post(f"/api/crm/accounts/{account.login}/platform/retry")
    assert response.status_code == 409  # the simulator: nothing to sync


@pytest.mark.django_db
def test_deal_waits_for_its_platform_user(mt5_on, demo):
    fake = mt5_on
    customer = Customer.objects.first()
    account = customer.accounts.first()
    tx, _ = transaction_create(by=demo["admin"], type="deposit", amount="5.00", currency=account.currency,
                               customer_id=customer.pk)
    bridge.deal_enqueue(tx.pk)
    bridge.deals_sync()
    assert PlatformDeal.objects.get(transaction=tx).status == "pending" and not fake.deals
    bridge.accounts_sync(limit=10_000)
    bridge.deals_sync()
    assert PlatformDeal.objects.get(transaction=tx).status == "done" and len(fake.deals) == 1


@pytest.mark.django_db
def test_live_state_comes_from_the_platform_for_watched_accounts(mt5_on, demo, client_for):
    fake = mt5_on
    customer = Customer.objects.filter(assigned_to=demo["agent"]).first()
    account = customer.accounts.first()
    bridge.accounts_sync(limit=10_000)
    tx, _ = transaction_create(by=demo["admin"], type="deposit", amount="1000.00", currency=account.currency,
                               customer_id=customer.pk)
    bridge.deal_enqueue(tx.pk)
    bridge.deals_sync()
    fake.set_trading(account.login, profit="-120.50", margin="200.00")
    cache.delete(feed.STATE_KEY.format(login=account.login))
    assert feed.mt5_tick() == 0  # nobody watches: nothing is polled
    assert "user/account/get_batch" not in fake.calls
    feed.watch(account.login)
    assert feed.mt5_tick() == 1
    state = client_for("agent").get(f"/api/crm/accounts/{account.login}").json()["state"]
    account.refresh_from_db()
    assert state["balance"] == float(account.balance)  # ours
    assert state["equity"] == float(account.balance + account.credit) - 120.50  # the platform's
    assert state["pnl"] == -120.50 and state["margin_used"] == 200.0
    assert state["margin_level"] == pytest.approx(state["equity"] / 200 * 100, abs=0.01)
    # The throttle holds whatever the producer does: a second tick within 500 ms sends nothing.
    assert feed.mt5_tick() == 0


@pytest.mark.django_db
def test_reconcile_platform_reports_drift(mt5_on, demo, capsys):
    fake = mt5_on
    customer = Customer.objects.first()
    account = customer.accounts.first()
    bridge.accounts_sync(limit=10_000)
    for a in TradingAccount.objects.filter(platform__status="done").exclude(pk=account.pk):
        fake.accounts[a.login]["Balance"] = a.balance
        fake.accounts[a.login]["Credit"] = a.credit
    fake.accounts[account.login]["Balance"] = account.balance
    fake.accounts[account.login]["Credit"] = account.credit
    call_command("reconcile_platform")
    assert "agree" in capsys.readouterr().out
    fake.accounts[account.login]["Balance"] += Decimal("7.00")
    with pytest.raises(SystemExit) as exit_info:
        call_command("reconcile_platform")
    assert exit_info.value.code == 1
    out = capsys.readouterr().out
    assert f"{account.login}: balance" in out and "+7.00" in out


@pytest.mark.django_db
def test_trading_activity_counts_for_retention(mt5_on, demo):
    fake = mt5_on
    customer = Customer.objects.first()
    account = customer.accounts.first()
    Customer.objects.filter(pk=customer.pk).update(last_activity_at=None)
    now = int(time.time())
    fake.deals.append({"Deal": "9", "Login": account.login, "Action": "0", "Profit": "3.00", "Comment": "",
                       "Time": str(now - 60)})
    assert activity.activity_sync(now=now) == 1
    customer.refresh_from_db()
    assert abs(customer.last_activity_at.timestamp() - (now - 60)) < 1


# --- end to end: real web, worker and feed processes pointed at the fake platform, and a real browser -----------

@pytest.mark.django_db(transaction=True)
@pytest.mark.slow
@pytest.mark.browser
def test_end_to_end_registration_deposit_retry_and_live_panel(demo_committed, fake, browser):
    import httpx
    from django.conf import settings

    from devtools.testing import free_port, process_env, running, uvicorn_cmd, worker_cmd

    if not settings.REDIS_URL:
        pytest.skip("the feed process and the web process meet in Redis")
    env = process_env(REDIS_URL=settings.REDIS_URL, TRADING_PLATFORM="mt5", MT5_WEBAPI_URL=fake.url,
                      MT5_MANAGER_LOGIN="1001", MT5_MANAGER_PASSWORD=PASSWORD, MT5_GROUP="real\\standard")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with (
        running(uvicorn_cmd(port), env=env, ready_url=f"{base}/api/health", log_name="mt5-web"),
        running(worker_cmd("mt5", concurrency=1), env=env, log_name="mt5-worker"),
        running([*uvicorn_cmd(0)[:1], "manage.py", "run_simulator"], env=env, log_name="mt5-feed"),
    ):
        response = httpx.post(f"{base}/api/customer/register", json={
            "email": "e2e.trader@example.org", "password": "TestPass1234x", "first_name": "Eve", "last_name": "Trader",
            "phone": "+447911123457", "country": "GB", "source": "organic"})
        assert response.status_code == 201, response.text
        customer = Customer.objects.get(pk=response.json()["id"])
        login = customer.accounts.get().login

        def wait_for(check, seconds=60.0):
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                if check():
                    return True
                time.sleep(0.25)
            return False

        assert wait_for(lambda: login in fake.users), "the worker created the MT5 user"  # the demo's too
        admin = {"Authorization": "Token " + httpx.post(f"{base}/api/auth/token", json={
            "email": "admin@demo.test", "password": "demo-password"}).json()["token"]}
        response = httpx.post(f"{base}/api/backoffice/transactions", headers=admin, json={
            "customer_id": customer.pk, "type": "deposit", "amount": "500.00", "currency": "USD"})
        assert response.status_code == 201, response.text
        assert wait_for(lambda: len(fake.balance_deals(login)) == 1)
        assert httpx.post(f"{base}/api/crm/accounts/{login}/platform/retry", headers=admin).status_code == 202
        time.sleep(3)
        assert len(fake.balance_deals(login)) == 1  # the retry posted nothing more

        fake.set_trading(login, profit="37.25", margin="100.00")  # equity 537.25 on the platform
        context = browser.new_context(base_url=base)
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", "admin@demo.test")
        page.fill("input[name=password]", "demo-password")
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        page.goto(f"/customers/{customer.pk}/")
        assert "created" in page.locator(f'[data-testid="platform-{login}"]').inner_text()
        panel = page.locator(f'[data-testid="live-{login}"]')
        panel.locator('[data-field="equity"]').filter(has_text="537.25").wait_for(timeout=15_000)
        assert "37.25" in panel.locator('[data-field="pnl"]').inner_text()
        context.close()
