"""Issue #11: one registration gate pipeline for the four paths. The import runs the gates its own registration path
(`import`) selects — enabled, allowed countries, which gates run, default group — and refuses the same bad input
with the same code as the API's registration."""

from __future__ import annotations

import io

import pytest

from customers.gates import GATES, pipeline_for
from customers.models import Customer, FraudSettings, RegistrationPath
from customers.tests.factories import CustomerFactory, registration_paths, valid_phone
from imports.models import ImportJob
from imports.services import import_create, import_process
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff, its registration paths (import → group "Imported") and two existing GB customers: the
    demo's first (john.doe@example.com, the sheet's fiction number) and one with a valid number."""
    staff = demo_staff()
    registration_paths()
    CustomerFactory(first_name="John", last_name="Doe", email="john.doe@example.com", phone="+447700900000")
    CustomerFactory(email="emma.smith1@example.com", phone=valid_phone("GB", 1), assigned_to=staff["agent"])
    return staff
HEADER = "email,phone,first_name,last_name,country,group_name\n"


def run_import(user, body: str) -> dict[int, tuple[str, str]]:
    job = import_create(by=user, raw=(HEADER + body).encode(), file_name="t.csv", rate_per_second=0)
    import_process(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.COMPLETED
    # A row whose customer was created leaves the staging table; the rejected ones stay with their reason.
    staged = {r.row_number: (r.status, r.reason) for r in job.rows.all()}
    return {n: staged.get(n, ("imported", "")) for n in range(1, job.total_rows + 1)}


def import_path(**settings) -> None:
    RegistrationPath.objects.filter(source="import").update(**settings)


def upload(client, text: str):
    return client.post("/api/backoffice/customers/import", {"file": io.BytesIO(text.encode())}, format="multipart")


def test_pipeline_is_declared_by_the_path_settings(demo):
    assert pipeline_for("import").names == ("email", "names", "country", "phone", "disposable", "duplicates")
    assert pipeline_for("organic").names == ("email", "names", "country", "phone", "disposable", "promo",
                                             "duplicates")
    import_path(check_disposable=False, check_duplicates=False, allowed_countries=["DE"])
    assert pipeline_for("import").names == ("email", "names", "country", "allowed_countries", "phone")
    assert [g.name for g in GATES][-1] == "duplicates"


def test_disabled_import_path_refuses_the_upload(client_for, demo):
    import_path(enabled=False)
    response = upload(client_for("admin"), HEADER + "a@example.org,+447911123456,A,B,GB,\n")
    assert response.status_code == 400 and response.json()["code"] == "registration_closed", response.content
    assert not ImportJob.objects.exists()
    import_path(enabled=True)
    assert upload(client_for("admin"), HEADER + "a@example.org,+447911123456,A,B,GB,\n").status_code == 202


def test_import_honours_allowed_countries(demo):
    import_path(allowed_countries=["DE"])
    out = run_import(demo["admin"], "de1@example.org,+4915112345678,A,B,DE,\n"
                                    "gb1@example.org,+447911123456,A,B,GB,\n")
    assert out[1] == ("imported", "")
    assert out[2] == ("rejected", "validation_error: country not accepted for this registration path")


def test_import_honours_check_disposable(demo):
    row = "x@mailinator.com,+447911123456,A,B,GB,\n"
    assert run_import(demo["admin"], row)[1] == ("rejected", "disposable_email: disposable email domain")
    import_path(check_disposable=False)
    assert run_import(demo["admin"], row)[1] == ("imported", "")


def test_import_honours_check_duplicates(demo):
    existing = Customer.objects.exclude(email="john.doe@example.com").exclude(phone="").first()  # a valid number
    row = f"someone.new@example.org,{existing.phone},A,B,{existing.country},\n"
    status, reason = run_import(demo["admin"], row)[1]
    assert status == "rejected" and reason.startswith("duplicate_customer: duplicate of an existing customer")
    import_path(check_duplicates=False)
    assert run_import(demo["admin"], row)[1] == ("imported", "")
    assert Customer.objects.get(email="someone.new@example.org").possible_duplicate_of is None


def test_import_uses_the_path_default_group(demo):
    out = run_import(demo["admin"], "g1@example.org,+447911123401,A,B,GB,\ng2@example.org,+447911123402,A,B,GB,VIP\n")
    assert out[1][0] == out[2][0] == "imported"
    assert Customer.objects.get(email="g1@example.org").group.name == "Imported"  # the import path's default
    assert Customer.objects.get(email="g2@example.org").group.name == "VIP"  # the row's group_name wins
    import_path(default_group=None)
    run_import(demo["admin"], "g3@example.org,+447911123403,A,B,GB,\n")
    assert Customer.objects.get(email="g3@example.org").group is None


# The same bad input through the API's registration and through the import: the same code.
BAD = [
    ("disposable", {"email": "x@sub.mailinator.com"}, "disposable_email"),
    ("phone", {"phone": "12"}, "validation_error"),
    ("fiction phone", {"phone": "+447700900000"}, "validation_error"),
    ("country", {"country": "XX"}, "validation_error"),
    ("country not allowed", {"country": "FR", "phone": "+33612345678"}, "validation_error"),
    ("existing email", {"email": "John.Doe+x@example.com"}, "duplicate_customer"),
    ("existing phone", {"phone": "EXISTING"}, "duplicate_customer"),
]


@pytest.mark.parametrize("label,bad,code", BAD, ids=[b[0] for b in BAD])
def test_same_bad_input_same_code_on_the_api_and_the_import(api, demo, label, bad, code):
    for source in ("organic", "import"):
        RegistrationPath.objects.filter(source=source).update(allowed_countries=["GB", "DE"])
    existing = Customer.objects.exclude(email="john.doe@example.com").filter(country="GB").first()
    row = {"email": "fresh.person@example.net", "phone": "+447911123456", "first_name": "Fresh",
           "last_name": "Person", "country": "GB", **bad}
    if row["phone"] == "EXISTING":
        row["phone"], row["country"] = existing.phone, existing.country
    response = api.post("/api/customer/register", {**row, "password": "TestPass1234x", "source": "organic"},
                        format="json")
    assert response.status_code in (400, 409) and response.json()["code"] == code, response.content
    csv_row = ",".join(row[k] for k in ("email", "phone", "first_name", "last_name", "country")) + ",\n"
    status, reason = run_import(demo["admin"], csv_row)[1]
    assert status == "rejected" and reason.split(":")[0] == code, reason


def test_same_good_input_passes_both(api, demo):
    fraud = FraudSettings.current()
    assert fraud.strict_phone_validation
    response = api.post("/api/customer/register", {"email": "ok.api@example.net", "phone": "+447911123450",
                                                   "first_name": "A", "last_name": "B", "country": "GB",
                                                   "password": "TestPass1234x", "source": "organic"}, format="json")
    assert response.status_code == 201
    assert run_import(demo["admin"], "ok.imp@example.net,+447911123451,A,B,GB,\n")[1] == ("imported", "")
