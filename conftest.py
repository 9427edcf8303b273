"""Project-wide fixtures: the demo personas, API clients, and a clean cache/Redis per test."""

from __future__ import annotations

import io

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient


@pytest.fixture(autouse=True)
def _clean_cache():
    """Presence keys, throttles and lockouts must not leak between tests."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def demo(db):
    """The full demo data set of API.md (teams, roles, staff, customers, …) as `seed_demo` creates it."""
    from django.core.management import call_command
    from django.test import override_settings

    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=io.StringIO())
    from teams.models import User

    return {u.email.split("@")[0]: u for u in User.objects.select_related("role", "team")}


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def client_for(demo):
    """`client_for("agent")` → an APIClient authenticated as that demo user."""

    def make(name: str) -> APIClient:
        client = APIClient()
        client.force_authenticate(demo[name])
        return client

    return make


# --- real processes: a live uvicorn server and a real browser ----------------------------------------------------

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture
def live_url(transactional_db):
    """A uvicorn process (ASGI, like production) serving the test database; yields its base URL.

    Use with committed data (`transaction=True` tests or the `demo_committed` fixture)."""
    from devtools.testing import free_port, process_env, running, uvicorn_cmd

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with running(uvicorn_cmd(port), env=process_env(), ready_url=f"{base}/api/health", log_name=f"web-{port}"):
        yield base


@pytest.fixture
def demo_committed(transactional_db):
    """The demo data, committed so that other processes (web, workers) see it."""
    from django.core.management import call_command
    from django.test import override_settings

    with override_settings(DEBUG=True):
        call_command("seed_demo", stdout=io.StringIO())
    from teams.models import User

    return {u.email.split("@")[0]: u for u in User.objects.select_related("role", "team")}


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (never a downloaded browser build)."""
    import os

    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop on this thread; the ORM calls in the tests are still synchronous.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (apt-get install chromium)")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield instance
        instance.close()


@pytest.fixture
def page_for(browser, live_url):
    """`page_for("agent")` → a Playwright page logged in to the workspace as that demo user."""
    contexts = []

    def login(persona: str, password: str = "demo-password", enforce_csp: bool = False):
        # Playwright's string predicates (wait_for_function("…")) run through eval, which the Content-Security-Policy
        # refuses: functional tests bypass the policy; brokercrm/tests/test_csp.py enforces it.
        context = browser.new_context(base_url=live_url, bypass_csp=not enforce_csp)
        contexts.append(context)
        page = context.new_page()
        page.goto("/login/")
        page.fill("input[name=username]", f"{persona}@demo.test")
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/login/" not in url)
        return page

    yield login
    for context in contexts:
        context.close()
