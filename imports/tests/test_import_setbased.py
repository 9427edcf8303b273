"""Issue #16: the import's faster forms decide exactly as before — the email and disposable gates answer once per
distinct domain of a chunk (memoized on the pipeline), the claim reads rows and the job's status in one statement,
and in-file duplicates keep their reasons and row numbers (earlier rows of the same 1,000-row chunk)."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator

from customers.gates import _email_valid, pipeline_for
from customers.models import Customer, FraudSettings, RegistrationPath
from imports.models import ImportJob
from imports.services import _take_slot, import_cancel, import_create, import_process, import_step

pytestmark = pytest.mark.django_db
HEADER = "email,phone,first_name,last_name,country\n"


def run_import(user, body: str) -> dict[int, tuple[str, str]]:
    job = import_create(by=user, raw=(HEADER + body).encode(), file_name="t.csv", rate_per_second=0)
    import_process(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED
    assert job.imported_rows + job.rejected_rows == job.total_rows
    # A row whose customer was created leaves the staging table; the rejected ones stay with their reason.
    staged = {r.row_number: (r.status, r.reason) for r in job.rows.all()}
    return {n: staged.get(n, ("imported", "")) for n in range(1, job.total_rows + 1)}


EMAILS = [
    "a@example.org", "A.B+tag@Example.ORG", "a@localhost", "a@[127.0.0.1]", "a@[::1]", "a@[999.1.1.1]",
    "a@[IPv6:::1]", "a@exa_mple.org", "a@-example.org", "a@example-.org", "a@example", "a@example.org.",
    "a@ex..ample.org", "a@xn--bcher-kva.ch", "a@bücher.ch", "a@müller.de", '"quoted local"@example.org',
    "a b@example.org", "a@b@example.org", "@example.org", "a@", "a", "", ".a@example.org", "a.@example.org",
    "a@" + "x" * 64 + ".org", "a@" + ".".join(["x" * 63] * 4) + ".org", "ok@sub.sub.example.co.uk",
    "a@123.123.123.123", "a@example.o", "a@example.12", "ünïcode@example.org", "a@EXAMPLE.ORG",
]


def test_memoized_email_gate_equals_djangos_validator():
    validator = EmailValidator()
    domains: dict[str, bool] = {}
    for _ in range(2):  # the second pass answers from the memo
        for email in EMAILS:
            try:
                validator(email)
                expected = len(email) <= 254
            except ValidationError:
                expected = False
            assert _email_valid(email, domains) is expected, email
            assert _email_valid(email) is expected, email


def test_disposable_domains_and_subdomains_rejected_with_memo(demo):
    fraud = FraudSettings.current()
    fraud.blocked_domains, fraud.allowed_domains = ["blocked.example"], ["ok.mailinator.com"]
    fraud.save()
    out = run_import(demo["admin"],
                     "a1@mailinator.com,+447911290001,A,One,GB\n"
                     "a2@mx.mailinator.com,+447911290002,A,Two,GB\n"      # a parent domain is disposable
                     "a3@MX.Mailinator.COM,+447911290003,A,Three,GB\n"   # upper case
                     "a4@ok.mailinator.com,+447911290004,A,Four,GB\n"     # allowlisted wins over the list
                     "a5@deep.blocked.example,+447911290005,A,Five,GB\n"  # the configurable blocklist, a subdomain
                     "a6@example.org,+447911290006,A,Six,GB\n"
                     "a7@sub.mailinator.com,+447911290007,A,Seven,GB\n")
    disposable = ("rejected", "disposable_email: disposable email domain")
    assert [out[n] for n in (1, 2, 3, 5, 7)] == [disposable] * 5
    assert out[4] == ("imported", "") and out[6] == ("imported", "")


def test_pipeline_memo_lives_per_pipeline(demo):
    first = pipeline_for("import")
    fraud = FraudSettings.current()
    fraud.blocked_domains = ["later.example"]
    fraud.save()
    assert pipeline_for("import").memo == {}
    out = run_import(demo["admin"], "x@later.example,+447911290011,X,Y,GB\n")
    assert out[1] == ("rejected", "disposable_email: disposable email domain")
    assert first.memo == {}


def test_in_file_duplicates_keep_reasons_and_row_numbers(demo):
    body = ["dup@example.org,+447911291001,A,One,GB",       # 1 ok
            "other@example.org,+447911291002,A,Two,GB",     # 2 ok
            "DUP+x@Example.org,+447911291003,A,Three,GB",   # 3 same canonical email as 1
            "third@example.org,+447911291002,A,Four,GB",    # 4 same phone and country as 2
            "fourth@example.org,+447911291002,A,Five,DE",   # 5 same phone, other country: not a duplicate
            "not-an-email,+447911291006,A,Six,GB",          # 6 refused before duplicates
            "not-an-email,+447911291006,A,Seven,GB"]        # 7 the same refusal (not a duplicate of a rejected row)
    out = run_import(demo["admin"], "\n".join(body) + "\n")
    assert out[1] == ("imported", "") and out[2] == ("imported", "")
    assert out[3] == ("rejected", "duplicate_customer: duplicate of row 1 of this file")
    assert out[4] == ("rejected", "duplicate_customer: duplicate of row 2 of this file")
    assert out[5] == ("imported", "")
    assert out[6] == out[7] == ("rejected", "validation_error: invalid email address")


def test_duplicates_across_chunks_are_existing_customers(demo):
    """Row 1,001 starts the second chunk: its twin of row 1 is an existing customer by then, as before."""
    rows = [f"lead{i}@example.org,+4479112{i:05d},Lead,N{i},GB" for i in range(1, 1001)]
    rows.append("LEAD1@example.org,+447911299999,Lead,Again,GB")
    out = run_import(demo["admin"], "\n".join(rows) + "\n")
    assert out[1] == ("imported", "")
    status, reason = out[1001]
    assert status == "rejected" and reason.startswith("duplicate_customer: duplicate of an existing customer (score")


def test_cancelled_job_claims_nothing(demo):
    """A chain holding a slot when the job is cancelled: its claim sees the status and processes nothing."""
    job = import_create(by=demo["admin"], raw=(HEADER + "c@example.org,+447911292001,C,D,GB\n").encode(),
                        file_name="t.csv", rate_per_second=0)
    running, slot = _take_slot(job.pk, 1000)
    assert running is not None
    import_cancel(job=job, by=demo["admin"])
    assert import_step(job_id=job.pk, slot=slot) is None
    job.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED and job.processed_rows == 0
    assert job.rows.get().status == "pending"


def test_email_taken_past_the_gates_falls_back_row_by_row(demo):
    """The chunk's customers go in with COPY (`brokercrm.bulk.copy_insert`): a unique violation still arrives as
    Django's IntegrityError, so a chunk whose email was taken meanwhile (here: the duplicates gate
    off) falls back to one row at a time, and awkward text arrives intact."""
    RegistrationPath.objects.filter(source="import").update(check_duplicates=False)
    taken = Customer.objects.exclude(email="").first().email
    odd = 'O"Brien {a,b} \\ é,\'x\' NULL'
    body = io.StringIO()
    csv.writer(body, lineterminator="\n").writerows([[taken, "+447911293001", "A", "One", "GB"],
                                                     ["o@example.org", "+447911293002", odd, "Two", "GB"]])
    out = run_import(demo["admin"], body.getvalue())
    assert out[1] == ("rejected", "duplicate_customer: duplicate of an existing customer (email)")
    assert out[2] == ("imported", "")
    assert Customer.objects.get(email="o@example.org").first_name == odd


def test_claimed_cells_and_written_outcomes_arrive_exactly(demo):
    """The claim reads a staged row's cells as text columns and the outcomes go back as one JSON parameter
    (`brokercrm.bulk.json_rows`): every column in any header order, a short row (its missing cells), awkward text
    in cells and in reasons (quotes, braces, backslashes, NULL, accents), and each row's number, status, reason and
    customer as before."""
    from crm.models import Note
    from customers.models import CustomerGroup
    from imports.models import ImportRow

    CustomerGroup.objects.get_or_create(name="VIP")
    odd = 'O"Brien {a,b} \\ é,\'x\' NULL'
    header = ["comment", "country", "group_name", "last_name", "assigned_to_email", "phone", "first_name", "email"]
    body = io.StringIO()
    writer = csv.writer(body, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([
        [odd, "GB", "vip", "One", "", "+447911294001", odd, "one@example.org"],           # 1 imported
        ["", "GB", odd, "Two", "", "+447911294002", "A", "two@example.org"],              # 2 unknown group
        ["", "GB", "", "Three", "nobody@example.org", "+447911294003", "A", "three@example.org"],  # 3 assignee
        ["", "GB", "", "Four", "", "+447911294004", "A", "ONE+x@example.org"],            # 4 duplicate of 1
        ["", "GB", "", "Five", "", "+447911294005", "A", "not-an-email"],                 # 5 invalid email
        ["", "GB"],                                                                       # 6 a short row
        ["x", "GB", "", "Seven", "", "+447911294007", "A", "seven@example.org"],          # 7 imported
    ])
    job = import_create(by=demo["admin"], raw=body.getvalue().encode(), file_name="t.csv", rate_per_second=0)
    import_process(job_id=job.pk)
    rows = {r.row_number: r for r in ImportRow.objects.filter(job=job)}
    outcomes = {n: (r.status, r.reason) for n, r in rows.items()}
    assert outcomes == {  # rows 1 and 7 were imported: they left the staging table with their customers
        2: ("rejected", f"validation_error: unknown group {odd[:40]!r}"),
        3: ("rejected", "validation_error: assigned_to_email is not staff you may assign to"),
        4: ("rejected", "duplicate_customer: duplicate of row 1 of this file"),
        5: ("rejected", "validation_error: invalid email address"),
        6: ("rejected", "validation_error: invalid email address"),
    }
    one, seven = Customer.objects.get(email="one@example.org"), Customer.objects.get(email="seven@example.org")
    assert not ImportRow.objects.filter(data__email__in=["one@example.org", "seven@example.org"]).exists()
    for customer in (one, seven):  # each names its job in its registration activity
        assert customer.activities.get(verb="customer.registered").data == {"source": "import",
                                                                          "import_job": str(job.pk)}
    assert one.first_name == odd and one.group.name == "VIP"
    assert Note.objects.get(customer=one).body == odd and Note.objects.get(customer=seven).body == "x"
    assert rows[2].data["group_name"] == odd  # the staged cells are untouched (the rejections report reads them)
    job.refresh_from_db()
    assert (job.processed_rows, job.imported_rows, job.rejected_rows) == (7, 2, 5)
