"""The template builder in a real browser: the SMS counter and the preview update as you type."""

from __future__ import annotations

import pytest

from comms.models import SmsTemplate
from comms.tests.factories import demo_templates
from teams.tests.factories import demo_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def demo_committed(transactional_db):
    """The demo's staff and its templates (comms.tests.factories.demo_templates), committed so that the live
    server sees them; not the whole demo seed."""
    staff = demo_staff()
    demo_templates()
    return staff


def test_sms_counter_and_direction_update_as_you_type(demo_committed, page_for):
    template = SmsTemplate.objects.get(name="deposit-received")
    page = page_for("admin")
    page.goto(f"/templates/sms/{template.pk}/en/")
    counter = page.locator("[data-testid=sms-counter]")
    page.fill("[data-testid=sms-body]", "a" * 160)
    page.wait_for_function("document.querySelector('[data-testid=sms-counter]').textContent.includes('160 units')")
    assert "1 segment" in counter.inner_text() and "GSM-7" in counter.inner_text()
    page.fill("[data-testid=sms-body]", "a" * 161)
    page.wait_for_function("document.querySelector('[data-testid=sms-counter]').textContent.includes('161 units')")
    assert "2 segments" in counter.inner_text()
    page.fill("[data-testid=sms-body]", "שלום {{customer.first_name}}")
    page.wait_for_function("document.querySelector('[data-testid=direction]').textContent === 'rtl'")
    assert "UCS-2" in counter.inner_text()
    assert page.inner_text("[data-testid=preview]") == "שלום John"
    # Saving an unknown placeholder is refused with the API's error.
    page.fill("[data-testid=sms-body]", "Hi {{customer.secret}}")
    page.click("[data-testid=save]")
    page.wait_for_function("document.getElementById('builder-error').textContent.includes('Unknown')")
    assert template.translations.get(locale="en").body.startswith("{{broker.platform_name}}")
