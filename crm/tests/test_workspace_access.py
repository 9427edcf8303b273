"""Issue #14, any width and any input: every workspace page (the ROUTES table of test_page_permissions, so new pages
are walked without editing this file), the profile page, the error page, the login page and the client area, as
every demo role that may open it:

- axe-core (axe-playwright-python bundles it) finds no serious or critical violation at 390 px with the menu open,
  and at 1280 px for the admin (who opens every page);
- at 390 px the page is no wider than the window (tables scroll in their own container, the menu collapses).

One browser, one logged-in context per role."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.urls import reverse

from crm.tests.test_page_permissions import ROUTES, objects  # noqa: F401 (objects: the routes' fixture objects)

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(900)]

ROLES = ("admin", "compliance", "manager", "agent")
NARROW = {"width": 390, "height": 844}
WIDE = {"width": 1280, "height": 900}
# Beyond the table (POST-only routes are skipped): the error page.
EXTRA_PAGES = ("/no-such-page/",)
SEVERE = {"serious", "critical"}

_axe = Axe()


def _severe(page) -> list[str]:
    results = _axe.run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in SEVERE:
            targets = [" ".join(map(str, node["target"])) for node in violation["nodes"]][:5]
            found.append(f"{violation['id']} ({violation['impact']}): {targets}")
    return found


def _check(page, url: str, failures: list, who: str, wide: bool = False) -> None:
    """At 390 px: no horizontal scrolling, and axe with the menu opened (so that its links are checked too);
    `wide`: axe again at 1280 px."""
    page.set_viewport_size(NARROW)
    page.goto(url)
    if page.evaluate("document.doctype === null"):
        return  # an htmx fragment (e.g. the activity's "load more"), not a page
    width = page.evaluate("document.documentElement.scrollWidth")
    if width > NARROW["width"]:
        failures.append(f"{who} {url}: {width} px wide at 390 px")
    toggle = page.locator("[data-testid=menu-toggle]")
    if toggle.count():
        toggle.click()
        if toggle.get_attribute("aria-expanded") != "true" or not page.locator("#site-menu").is_visible():
            failures.append(f"{who} {url}: the Menu button does not open the menu")
    failures.extend(f"{who} {url} @390: {problem}" for problem in _severe(page))
    if wide:
        page.set_viewport_size(WIDE)
        failures.extend(f"{who} {url} @1280: {problem}" for problem in _severe(page))


# GET routes that answer a file download rather than a page (the browser would start a download).
DOWNLOADS = {"customer-export"}


def _pages_for(user, objs) -> list[str]:
    from brokercrm.context_processors import nav_allows

    urls = []
    for name, (permission, page, kwargs) in ROUTES.items():
        if page and name not in DOWNLOADS and (permission is None or nav_allows(user, permission)):
            urls.append(reverse(name, kwargs=kwargs(objs)))
    return urls + list(EXTRA_PAGES)


def test_every_page_every_role_has_no_serious_axe_violation_and_fits_390px(demo, objects, page_for):  # noqa: F811
    from imports.models import ImportJob

    # A real import job, so that the progress bar's page is checked rather than its 404.
    job = ImportJob.objects.create(created_by=demo["admin"], file_name="leads.csv", total_rows=10, processed_rows=10,
                                   imported_rows=9, rejected_rows=1, rate_per_second=0, status="done")
    objects["job_id"] = job.pk
    failures: list[str] = []
    for role in ROLES:
        user = demo[role]
        page = page_for(role)
        for url in _pages_for(user, objects):
            _check(page, url, failures, role, wide=role == "admin")
    assert not failures, "\n".join(failures)


def test_login_and_client_area_have_no_serious_axe_violation_and_fit_390px(demo, browser, live_url):
    from customers.models import Customer

    context = browser.new_context(base_url=live_url)
    try:
        page = context.new_page()
        failures: list[str] = []
        _check(page, "/login/", failures, "anonymous")
        _check(page, "/client/login/", failures, "anonymous")
        customer = Customer.objects.order_by("pk").first()
        page.fill("input[name=email]", customer.email)
        page.fill("input[name=password]", "demo-password")
        page.click("button[type=submit]")
        page.wait_for_selector("[data-testid=deposit]")
        _check(page, "/client/", failures, "customer")
        _check(page, "/client/no-such-page/", failures, "customer")
        assert not failures, "\n".join(failures)
    finally:
        context.close()


def test_keyboard_at_390px_skip_link_menu_logout_and_the_import_progress_bar(demo, page_for):
    """Keyboard only, 390 px wide: the first Tab stop is the skip link, which lands on the content; the Menu button
    opens with Enter (aria-expanded follows), closes with Escape, and Log out is reachable and works. The import
    page's progress bar carries its value for assistive technology."""
    from imports.models import ImportJob

    job = ImportJob.objects.create(created_by=demo["admin"], file_name="leads.csv", total_rows=10, processed_rows=4,
                                   imported_rows=3, rejected_rows=1, rate_per_second=0, status="cancelled")
    page = page_for("admin")
    page.set_viewport_size(NARROW)
    page.goto(f"/imports/{job.pk}/")
    bar = page.locator("[role=progressbar]")
    page.wait_for_function("document.querySelector('[role=progressbar]').getAttribute('aria-valuenow') === '40'")
    assert bar.get_attribute("aria-valuemin") == "0" and bar.get_attribute("aria-valuemax") == "100"
    assert "4 of 10 rows" in bar.get_attribute("aria-valuetext")
    assert page.locator("[data-testid=import-counts]").get_attribute("aria-live") == "polite"

    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    logout = page.locator("[data-testid=logout]")
    assert not logout.is_visible()  # collapsed behind the Menu button
    toggle = page.locator("[data-testid=menu-toggle]")
    toggle.focus()
    page.keyboard.press("Enter")
    assert toggle.get_attribute("aria-expanded") == "true" and logout.is_visible()
    page.keyboard.press("Escape")
    assert toggle.get_attribute("aria-expanded") == "false" and not logout.is_visible()
    assert page.evaluate("document.activeElement.dataset.testid") == "menu-toggle"
    page.keyboard.press(" ")
    assert toggle.get_attribute("aria-expanded") == "true"
    for _ in range(30):  # Tab through the menu to Log out
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.dataset.testid") == "logout":
            break
    else:
        pytest.fail("Log out is not reachable by keyboard")
    page.keyboard.press("Enter")
    page.wait_for_url(lambda url: "/login/" in url or url.endswith("/logout/"))
    page.goto("/customers/")
    assert "/login/" in page.url
