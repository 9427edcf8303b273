"""Issue #11: the platform API and the administration pages of registration write through customers.services
(keyword-only, `by=`, audited inside the service); reading the registration paths and fraud settings never writes."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from customers import services
from customers.kyc import selectors as kyc_selectors
from customers.kyc.models import KycSettings
from customers.models import Affiliate, CustomerGroup, FraudSettings, RegistrationPath
from customers.tests.factories import CustomerGroupFactory
from teams.models import AuditLog
from teams.tests.factories import RoleFactory, UserFactory

pytestmark = pytest.mark.django_db

WRITES = ("INSERT", "UPDATE", "DELETE")


def writes_in(queries) -> list[str]:
    """Writes other than the session middleware's own (it refreshes the session of a page view)."""
    return [q["sql"] for q in queries
            if q["sql"].lstrip().upper().startswith(WRITES) and '"django_session"' not in q["sql"]]


@pytest.fixture
def admin():
    return UserFactory(role=RoleFactory(admin=True))


@pytest.fixture
def api(admin):
    client = APIClient()
    client.force_authenticate(admin)
    return client


def test_registration_paths_and_fraud_settings_exist_after_migrations():
    assert set(RegistrationPath.objects.values_list("source", flat=True)) >= {"organic", "affiliate", "promo",
                                                                                "import"}
    assert FraudSettings.objects.count() == 1
    assert KycSettings.objects.count() == 1


def test_kyc_settings_reads_never_write():
    KycSettings.objects.all().delete()  # KycSettings.current() would create it: reads use shown()
    with CaptureQueriesContext(connection) as queries:
        kyc_selectors.kyc_gates()
    assert writes_in(queries.captured_queries) == [] and not KycSettings.objects.exists()


def test_registration_path_list_get_performs_no_insert(api, admin):
    RegistrationPath.objects.filter(source="promo").delete()  # the old list re-created it inside the GET
    FraudSettings.objects.all().delete()
    page = Client()
    page.force_login(admin)
    with CaptureQueriesContext(connection) as queries:
        paths = api.get("/api/platform/registration-paths")
        fraud = api.get("/api/platform/fraud-settings")
        admin_page = page.get("/administration/fraud/")
    assert paths.status_code == 200 and fraud.status_code == 200 and admin_page.status_code == 200
    assert [p["source"] for p in paths.json()] == ["affiliate", "import", "organic"]
    assert fraud.json()["reject_threshold"] == 4  # the defaults, shown without creating the row
    assert writes_in(queries.captured_queries) == []
    assert not RegistrationPath.objects.filter(source="promo").exists() and not FraudSettings.objects.exists()


def test_reference_data_changes_are_audited_by_the_services(api):
    CustomerGroupFactory(name="VIP")
    created = api.post("/api/platform/customer-groups", {"name": "Gold", "description": "High value"}, format="json")
    assert created.status_code == 201, created.content
    group = CustomerGroup.objects.get(name="Gold")
    assert created.json() == {"id": group.pk, "name": "Gold", "description": "High value"}
    renamed = api.patch(f"/api/platform/customer-groups/{group.pk}", {"name": "Platinum"}, format="json")
    assert renamed.status_code == 200 and renamed.json()["name"] == "Platinum"
    entry = AuditLog.objects.get(action="customergroup.updated", object_id=str(group.pk))
    assert entry.before["name"] == "Gold" and entry.after["name"] == "Platinum"
    assert AuditLog.objects.filter(action="customergroup.created", object_id=str(group.pk)).exists()

    path = RegistrationPath.objects.get(source="organic")
    changed = api.put(f"/api/platform/registration-paths/{path.pk}",
                      {"enabled": False, "default_group": "VIP", "allowed_countries": ["de"], "rate_limit": "5/min"},
                      format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["source"] == "organic" and changed.json()["default_group"] == "VIP"
    entry = AuditLog.objects.get(action="registrationpath.updated", object_id=str(path.pk))
    assert entry.before["enabled"] is True and entry.after == {**entry.after, "enabled": False,
                                                                 "default_group": "VIP", "allowed_countries": ["DE"]}
    assert api.post("/api/platform/registration-paths", {"source": "organic"}, format="json").status_code == 405

    affiliate = api.post("/api/platform/affiliates", {"code": "aff_x", "name": "X"}, format="json").json()
    moved = api.patch(f"/api/platform/affiliates/{affiliate['id']}", {"group": "VIP", "is_active": False},
                      format="json")
    assert moved.status_code == 200 and moved.json()["group"] == "VIP"
    entry = AuditLog.objects.get(action="affiliate.updated", object_id=str(affiliate["id"]))
    assert entry.before["group"] is None and entry.after["group"] == "VIP" and entry.after["is_active"] is False
    assert Affiliate.objects.get(pk=affiliate["id"]).api_key_hash  # the key is never touched by an update


def test_reference_services_take_an_actor_and_only_editable_fields(admin):
    with pytest.raises(TypeError):
        services.group_create(name="Nobody", by=None)
    path = RegistrationPath.objects.get(source="organic")
    with pytest.raises(TypeError):
        services.registration_path_update(path=path, by=admin, source="promo")
    assert not CustomerGroup.objects.filter(name="Nobody").exists()
