"""Duplicate scoring: affiliate_lead_id 10, email 4, phone 3, country 1 (only with another match)."""

from __future__ import annotations

import pytest

from customers.models import Activity, Customer
from customers.services import affiliate_create

pytestmark = pytest.mark.django_db

URL = "/api/customer/register"


@pytest.fixture
def existing(api):
    affiliate_create(code="aff_test", name="Test Affiliate", api_key="demo-affiliate-key")
    body = {"email": "first.last@gmail.com", "password": "TestPass1234x", "first_name": "First", "last_name": "Last",
            "phone": "+447911123456", "country": "GB", "source": "affiliate", "affiliate_lead_id": "LEAD-1"}
    response = api.post(URL, body, format="json", HTTP_X_API_KEY="demo-affiliate-key")
    assert response.status_code == 201
    return Customer.objects.get(pk=response.json()["id"])


# (email, phone, country, affiliate_lead_id, expected score, expected outcome)
CASES = [
    ("other@example.org", "+33612345678", "FR", None, 0, 201),          # nothing in common
    ("other@example.org", "+33612345678", "GB", None, 0, 201),          # country alone adds nothing
    ("other@example.org", "+447911123456", "FR", None, 3, "flag"),      # phone: 3 → flagged
    ("other@example.org", "+447911123456", "GB", None, 4, 409),         # phone + country: 4 → rejected
    ("First.Last@gmail.com", "+33612345678", "FR", None, 4, 409),       # email (case) → rejected
    ("firstlast+promo@googlemail.com", "+33612345678", "FR", None, 4, 409),  # gmail dots, +tag, alias domain
    (" first.last@GMAIL.com ", "+33612345678", "FR", None, 4, 409),     # surrounding spaces
    ("other@example.org", "+33612345678", "FR", "LEAD-1", 10, 409),     # affiliate lead id
]


@pytest.mark.parametrize("email,phone,country,lead,score,outcome", CASES)
def test_duplicate_score_table(api, existing, email, phone, country, lead, score, outcome):
    from customers.gates import DedupeKey, canonical_email, duplicate_score

    match = duplicate_score(DedupeKey(canonical_email(email), phone, country, lead))
    assert (match.score if match else 0) == score
    body = {"email": email.strip(), "password": "TestPass1234x", "first_name": "A", "last_name": "B",
            "phone": phone, "country": country, "source": "affiliate" if lead else "organic",
            "affiliate_lead_id": lead}
    headers = {"HTTP_X_API_KEY": "demo-affiliate-key"} if lead else {}
    response = api.post(URL, body, format="json", **headers)
    if outcome == 409:
        assert response.status_code == 409 and response.json()["code"] == "duplicate_customer"
    elif outcome == "flag":
        assert response.status_code == 201
        assert "possible_duplicate" not in response.json()  # no oracle for the registrant (issue #10)
        new = Customer.objects.get(pk=response.json()["id"])
        assert new.possible_duplicate_of == existing and new.duplicate_score == 3
        assert Activity.objects.filter(customer=new, verb="customer.possible_duplicate").exists()
        assert Activity.objects.filter(customer=existing, verb="customer.possible_duplicate").exists()
    else:
        assert response.status_code == 201


def test_bulk_scores_match_single_scores(existing):
    from customers.gates import DedupeKey, duplicate_score, duplicate_scores_bulk

    keys = [DedupeKey(c[0].strip().lower(), c[1], c[2], c[3]) for c in CASES]
    assert [m.score if m else 0 for m in duplicate_scores_bulk(keys)] == [
        (duplicate_score(k).score if duplicate_score(k) else 0) for k in keys
    ]
