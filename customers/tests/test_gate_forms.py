"""Issues #11/#16: the duplicates gate has a row-wise form (registration) and a set-based SQL form (the import's
chunks) side by side in customers/gates.py; on the same inputs they give the same match, score and reasons."""

from __future__ import annotations

import pytest

from customers import gates
from customers.models import Customer, FraudSettings

pytestmark = pytest.mark.django_db


def make(email, phone, country, lead=None):
    return Customer.objects.create(first_name="A", last_name="B", email=email,
                                   email_canonical=gates.canonical_email(email), phone=phone, country=country,
                                   affiliate_lead_id=lead)


@pytest.fixture
def existing():
    return [
        make("first.last@gmail.com", "+447911123456", "GB", "LEAD-1"),
        make("second@example.org", "+447911123456", "FR"),  # same phone, another country
        make("third@example.org", "+33612345678", "FR", "LEAD-3"),
        make("fourth@example.org", "+4915112345678", "DE"),
    ]


KEYS = [
    ("nobody@example.org", "+447911000000", "GB", None),
    ("firstlast+x@googlemail.com", "+33600000000", "FR", None),  # email only
    ("x@example.org", "+447911123456", "GB", None),  # phone of two customers: country breaks the tie
    ("x@example.org", "+447911123456", "FR", None),
    ("x@example.org", "+447911123456", "DE", None),  # same score twice: the lower id wins
    ("x@example.org", "+33699999999", "FR", "LEAD-3"),  # lead id + country
    ("third@example.org", "+4915112345678", "FR", "LEAD-1"),  # three customers match: the best scores
    ("fourth@example.org", "", "DE", None),  # no phone
    ("", "+4915112345678", "", None),
]


def test_row_wise_and_set_based_duplicate_forms_agree(existing):
    keys = [gates.DedupeKey(gates.canonical_email(e) if e else "", p, c, lead) for e, p, c, lead in KEYS]
    fraud = FraudSettings.current()
    row_wise = [gates.duplicate_score(k, fraud=fraud) for k in keys]
    set_based = gates.duplicate_scores_sql(keys, fraud=fraud)
    in_lists = gates.duplicate_scores_bulk(keys, fraud=fraud)
    assert set_based == row_wise == in_lists
    assert row_wise[0] is None and row_wise[1].reasons == ("email",)
    assert row_wise[2].customer_id == existing[0].pk and row_wise[2].score == 4
    assert row_wise[4].customer_id == min(existing[0].pk, existing[1].pk)
    assert (row_wise[6].customer_id, row_wise[6].score) == (existing[0].pk, 10)  # the lead id outweighs the rest


def test_forms_agree_under_other_weights(existing):
    fraud = FraudSettings.current()
    fraud.weight_phone, fraud.weight_country, fraud.weight_email = 7, 5, 2
    fraud.save()
    keys = [gates.DedupeKey(gates.canonical_email(e) if e else "", p, c, lead) for e, p, c, lead in KEYS]
    assert gates.duplicate_scores_sql(keys, fraud=fraud) == [gates.duplicate_score(k, fraud=fraud) for k in keys]


def test_the_import_chunk_and_registration_decide_alike(existing):
    """The pipeline's chunk form (duplicates_bulk) refuses exactly the candidates the row-wise gate refuses."""
    pipeline = gates.pipeline_for("import")
    candidates = [gates.Candidate(email=e or "z@example.org", first_name="A", last_name="B", phone=p, country=c,
                                  affiliate_lead_id=lead, email_canonical=gates.canonical_email(e or f"z{i}@e.org"))
                  for i, (e, p, c, lead) in enumerate(KEYS)]
    refusals = pipeline.duplicates_bulk(candidates, list(range(1, len(candidates) + 1)))
    for candidate, refused in zip(candidates, refusals, strict=True):
        try:
            gates._gate_duplicates(gates.Candidate(**{**candidate.__dict__, "match": None}), pipeline)
            row_wise = None
        except gates.GateError as error:
            row_wise = error.reason
        if refused is None or "of this file" not in refused.reason:
            assert (refused.reason if refused else None) == row_wise


def _reference(raw: str, strict: bool):
    import phonenumbers

    try:
        number = phonenumbers.parse(raw, None)
    except phonenumbers.NumberParseException:
        return "parse_error"
    ok = phonenumbers.is_valid_number(number) if strict else phonenumbers.is_possible_number(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if ok else False


@pytest.mark.django_db(False)
def test_phone_fast_path_agrees_with_phonenumbers():
    """The phone gate's fast path (plain E.164) gives phonenumbers' answer: every region's example numbers of
    every type, and random digit strings under every country code (valid, invalid, too short, too long)."""
    import random

    import phonenumbers

    samples = set()
    for region in phonenumbers.SUPPORTED_REGIONS:
        for kind in (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE,
                     phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.VOIP):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is not None:
                samples.add(phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164))
    rng = random.Random(16)
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    for code in codes:
        for _ in range(40):
            samples.add(f"+{code}{rng.randrange(1, 10)}{''.join(rng.choices('0123456789', k=rng.randrange(1, 16)))}")
    for example in list(samples)[:300]:  # near misses of valid numbers: one digit changed, added, dropped
        samples |= {example[:-1], example + "7", example[:-1] + str((int(example[-1]) + 1) % 10)}
    checked = 0
    for raw in sorted(samples):
        for strict in (True, False):
            fast = gates._fast_e164(raw, strict)
            if fast is None:
                continue
            checked += 1
            assert fast == _reference(raw, strict), (raw, strict)
    assert checked > 10_000
    assert gates._fast_e164("+447911123456", True) == "+447911123456"
    assert gates._fast_e164("+447700900000", True) is False and gates._fast_e164("+447700900000", False)
