"""Issue #14 in a real browser: an admin creates a staff user in the Administration pages; that user, an
administrator of their own team only, tries to create a user with the admin role and is refused in words."""

from __future__ import annotations

import pytest

from teams.models import Role, Team, User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_creates_a_user_who_is_refused_in_words_when_escalating(demo_committed, page_for):
    Role.objects.create(name="eu user admin", permissions=[
        "administration.view_teams", "administration.manage_users", "customers.view"],
        customer_view_scope="team", customer_edit_scope="none")
    page = page_for("admin")
    page.on("dialog", lambda dialog: dialog.accept())
    page.click("nav >> text=Administration")
    page.click("[data-testid=section-users]")
    page.fill("#u-email", "helpdesk@demo.test")
    page.fill("#u-first", "Hana")
    page.fill("#u-last", "Helpdesk")
    page.fill("#u-password", "Helpdesk-pass-93x")
    page.select_option("#u-role", label="eu user admin")
    page.select_option("#u-team", label="Sales EU")
    page.click("[data-testid=user-create-submit]")
    page.wait_for_selector("text=User helpdesk@demo.test created as eu user admin in Sales EU.")
    created = User.objects.get(email="helpdesk@demo.test")
    assert created.team == Team.objects.get(name="Sales EU") and created.role.name == "eu user admin"

    helpdesk = page_for("helpdesk", password="Helpdesk-pass-93x")
    helpdesk.goto("/administration/users/")
    helpdesk.fill("#u-email", "boss@demo.test")
    helpdesk.fill("#u-password", "Boss-pass-93x-long")
    helpdesk.select_option("#u-role", label="admin")
    helpdesk.select_option("#u-team", label="Sales UK")
    helpdesk.click("[data-testid=user-create-submit]")
    errors = helpdesk.locator("[data-testid=form-errors]")
    errors.wait_for()
    text = errors.inner_text()
    assert "You cannot grant what you do not hold" in text
    assert "Approve or reject transactions up to the role's approval level" in text
    assert "a wider customer view scope" in text and "exporting personal data" in text
    assert helpdesk.input_value("#u-email") == "boss@demo.test"  # the form keeps what was typed
    assert not User.objects.filter(email="boss@demo.test").exists()


CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def test_administration_pages_render_under_the_csp(demo_committed, page_for):
    from comms.models import EmailTemplate, Workflow
    from customers.models import PromoCode

    page = page_for("admin", enforce_csp=True)
    page.context.add_init_script(CSP_VIOLATIONS)
    urls = ["/administration/", "/administration/teams/", "/administration/users/",
            f"/administration/users/{demo_committed['agent'].pk}/", "/administration/roles/",
            f"/administration/roles/{demo_committed['agent'].role_id}/", "/administration/audit-log/",
            "/administration/promo-codes/", f"/administration/promo-codes/{PromoCode.objects.first().pk}/",
            "/administration/fraud/", "/administration/payment-routes/", "/administration/fx-rates/",
            "/administration/approval-rules/", "/workflows/new", f"/workflows/{Workflow.objects.first().pk}/",
            f"/templates/email/{EmailTemplate.objects.get(name='welcome').pk}/en/"]
    for url in urls:
        response = page.goto(url)
        assert response.status == 200, url
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], url
    # The email builder's HTML preview rendered inside its sandbox without a violation.
    page.frame_locator("[data-testid=preview-html]").locator("p", has_text="Hello John").wait_for()
    assert page.evaluate("window.__csp") == []
