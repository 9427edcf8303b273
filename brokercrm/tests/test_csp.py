"""Issue #10, sign-in: production headers. A Content-Security-Policy the pages satisfy; /api/docs/ works offline."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db

CSP_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", e => window.__csp.push(
    `${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`));
"""


def test_pages_send_a_strict_content_security_policy(client, demo):
    client.force_login(demo["manager"])
    for url in ("/", "/customers/", "/api/docs/", "/login/"):
        policy = client.get(url)["Content-Security-Policy"]
        assert "default-src 'self'" in policy and "object-src 'none'" in policy and "frame-ancestors 'none'" in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy
    assert "Content-Security-Policy" in client.get("/client/login/")


def test_api_docs_serve_their_assets_locally(client):
    """Issue #10: /api/docs/ loaded Swagger UI from a CDN and was blank without internet."""
    html = client.get("/api/docs/").content.decode()
    assert "cdn.jsdelivr" not in html and "unpkg" not in html and "https://" not in html
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "<script>" not in html and "<style>" not in html
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_workspace_and_api_docs_render_without_csp_violations(demo_committed, page_for, live_url):
    page = page_for("admin", enforce_csp=True)
    page.context.add_init_script(CSP_VIOLATIONS)
    console: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: console.append(m.text) if m.type in ("error", "warning") else None)
    page.on("request", lambda r: requests.append(r.url))

    response = page.goto("/")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    page.wait_for_load_state("networkidle")
    # The bar charts' widths are set by the static script (no style attributes).
    widths = page.eval_on_selector_all(".bar", "els => els.map(e => e.style.width)")
    assert widths and all(w.endswith("%") for w in widths) and any(w != "0%" for w in widths)
    assert page.evaluate("window.__csp") == []

    for url in ("/customers/", "/tasks/"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("window.__csp") == [], url

    # A page whose inline script carries the nonce: the builder's live counter runs.
    from comms.models import SmsTemplate

    page.goto(f"/templates/sms/{SmsTemplate.objects.get(name='deposit-received').pk}/en/")
    page.locator("[data-testid=sms-counter]", has_text="units").wait_for(timeout=15000)
    assert page.evaluate("window.__csp") == []

    # The client area (its own inline script has the nonce too).
    from customers.models import Customer

    customer = Customer.objects.order_by("pk").first()
    page.goto("/client/login/")
    page.fill("input[name=email]", customer.email)
    page.fill("input[name=password]", "demo-password")
    page.click("button[type=submit]")
    page.wait_for_selector("[data-testid=deposit]")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__csp") == []

    page.goto("/api/docs/")
    page.wait_for_selector(".swagger-ui .info .title", timeout=20000)
    assert "BrokerCRM API" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector(".opblock", timeout=20000)
    assert page.locator(".opblock").count() > 20
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__csp") == []

    assert not [m for m in console if "Content Security Policy" in m or "Refused to" in m], console
    outside = [u for u in requests if not u.startswith(live_url) and not u.startswith("data:")]
    assert outside == [], outside

    # The detector itself works: an inline style attribute is refused and reported.
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    for _ in range(50):
        if page.evaluate("window.__csp.length"):
            break
        page.wait_for_timeout(100)
    assert "style-src" in " ".join(page.evaluate("window.__csp"))
