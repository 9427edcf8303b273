"""Workflows at scale (issue #12): triggers by registration source, batched fan-out, an owner for every task."""

from __future__ import annotations

import pytest
from celery.signals import task_prerun
from django.core import mail
from rest_framework.test import APIClient

from brokercrm.celery import app as celery_app
from comms.models import Message, Workflow, WorkflowAction, WorkflowRun
from comms.tests.factories import demo_templates
from comms.workflows import triggers_changed, workflow_run_execute
from crm.models import Task
from customers.models import Customer
from customers.tests.factories import CustomerFactory, registration_setup
from ledger.tests.factories import customer_with_account
from teams.tests.factories import demo_staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo(db):
    """The demo's staff, registration set-up, templates and workflows (comms.tests.factories.demo_templates), a
    customer of the agent and one without agent or team."""
    staff = demo_staff()
    registration_setup()
    demo_templates()
    customer_with_account("GB", n=1, assigned_to=staff["agent"])
    CustomerFactory()
    return staff


@pytest.fixture
def eager(settings):
    """Tasks run inline (these tests are about what gets created, not about workers); task names are recorded."""
    names: list[str] = []

    def record(sender=None, **kwargs):
        names.append(sender.name)

    task_prerun.connect(record, weak=False)
    celery_app.conf.task_always_eager = True
    triggers_changed()
    try:
        yield names
    finally:
        celery_app.conf.task_always_eager = False
        task_prerun.disconnect(record)
        triggers_changed()


def csv_of(n: int) -> bytes:
    return ("email,phone,first_name,last_name,country\n" + "".join(
        f"wf{i}@example.org,+4479112{i:05d},First{i},Last{i},GB\n" for i in range(n))).encode()


def test_import_of_leads_sends_no_welcome_and_fans_out_in_batches(demo, eager, monkeypatch,
                                                                   django_capture_on_commit_callbacks):
    from comms import conf
    from imports.services import import_create, import_process

    monkeypatch.setattr(conf, "WORKFLOW_BATCH_SIZE", 8)
    audit = Workflow.objects.create(name="Audit every registration", trigger="customer.registered")  # no sources
    WorkflowAction.objects.create(workflow=audit, position=1, kind="create_task",
                                  params={"title": "Check lead", "team": "Sales UK"})
    triggers_changed()
    with django_capture_on_commit_callbacks(execute=True):
        job = import_create(by=demo["admin"], raw=csv_of(30), file_name="leads.csv", rate_per_second=0)
        import_process(job_id=job.pk)
    imported = Customer.objects.filter(source="import", email__startswith="wf")
    assert imported.count() == 30
    welcome = Workflow.objects.get(name="Welcome new customers")
    assert welcome.conditions["sources"] == ["organic", "affiliate", "promo", "backoffice"]
    assert not WorkflowRun.objects.filter(workflow=welcome, customer__in=imported).exists()
    assert not Message.objects.filter(customer__in=imported).exists() and not mail.outbox
    assert not Task.objects.filter(customer__in=imported, title="Welcome call").exists()
    # The workflow without a sources condition ran for every lead, 8 customers per batch task (30 → 4 tasks).
    assert WorkflowRun.objects.filter(workflow=audit, status="succeeded").count() == 30
    assert eager.count("comms.workflow_run_batch") == 4 and "comms.workflow_run" not in eager
    tasks = Task.objects.filter(customer__in=imported, title="Check lead")
    assert tasks.count() == 30 and set(tasks.values_list("team__name", flat=True)) == {"Sales UK"}
    assert not tasks.filter(assignee__isnull=True, team__isnull=True).exists()


def register(email: str, phone: str) -> Customer:
    body = {"email": email, "password": "TestPass1234x", "first_name": "Jane", "last_name": "Roe", "phone": phone,
            "country": "GB", "source": "organic"}
    response = APIClient().post("/api/customer/register", body, format="json")
    assert response.status_code == 201, response.content
    return Customer.objects.get(pk=response.json()["id"])


def test_organic_registration_runs_welcome_with_an_owner(demo, eager, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        customer = register("organic.jane@example.org", "+447911255501")
    run = WorkflowRun.objects.get(workflow__name="Welcome new customers", customer=customer)
    assert run.status == "succeeded"
    assert [m.to for m in mail.outbox] == [["organic.jane@example.org"]]
    task = Task.objects.get(customer=customer, title="Welcome call")
    if customer.assigned_to_id:  # a registration path may route to an agent: the agent owns the call
        assert task.assignee_id == customer.assigned_to_id
    else:  # no agent: the demo workflow's team queue
        assert task.assignee_id is None and task.team.name == "Sales EU"
    # With an agent, the agent owns it.
    agent = demo["agent"]
    Customer.objects.filter(pk=customer.pk).update(assigned_to=agent, team=agent.team)
    again = WorkflowRun.objects.create(workflow=run.workflow, event="customer.registered", customer=customer,
                                       payload={"customer_id": customer.pk, "source": "organic"})
    with django_capture_on_commit_callbacks(execute=True):
        workflow_run_execute(run_id=again.pk)
    assert Task.objects.filter(customer=customer, title="Welcome call").latest("pk").assignee_id == agent.pk


def test_a_task_without_any_owner_fails_the_run_instead(demo, eager, monkeypatch):
    from comms import conf

    monkeypatch.setattr(conf, "WORKFLOW_TASK_TEAM", "")
    workflow = Workflow.objects.create(name="Orphan maker", trigger="customer.frozen")
    WorkflowAction.objects.create(workflow=workflow, position=1, kind="create_task", params={"title": "x"})
    customer = Customer.objects.filter(assigned_to__isnull=True).first()
    Customer.objects.filter(pk=customer.pk).update(team=None)
    run = WorkflowRun.objects.create(workflow=workflow, event="customer.frozen", customer=customer,
                                     payload={"customer_id": customer.pk})
    with pytest.raises(ValueError, match="no team queue"):
        workflow_run_execute(run_id=run.pk)
    assert not Task.objects.filter(customer=customer, title="x").exists()
    monkeypatch.setattr(conf, "WORKFLOW_TASK_TEAM", "Finance & Compliance")
    workflow_run_execute(run_id=run.pk)
    assert Task.objects.get(customer=customer, title="x").team.name == "Finance & Compliance"


def test_sources_condition_is_validated_and_shown(client_for, demo, client):
    api = client_for("admin")
    bad = api.post("/api/platform/workflows", {"name": "x", "trigger": "customer.registered",
                                               "conditions": {"sources": ["martians"]}, "actions": []}, format="json")
    assert bad.status_code == 400 and bad.json()["code"] == "validation_error"
    bad_team = api.post("/api/platform/workflows", {
        "name": "y", "trigger": "customer.registered", "conditions": {},
        "actions": [{"position": 1, "kind": "create_task", "params": {"title": "t", "team": "Nowhere"}}]},
        format="json")
    assert bad_team.status_code == 400
    client.force_login(demo["admin"])
    page = client.get("/templates/").content.decode()
    assert "organic, affiliate, promo, backoffice (not import)" in page
    assert "team queue Sales EU" in page


# --- scope=all and the team queue, in the API and the page --------------------------------------------------------


@pytest.fixture
def queue_tasks(demo):
    from datetime import timedelta

    from django.utils import timezone

    from teams.models import Team

    customer = Customer.objects.filter(team__name="Sales UK").first() or Customer.objects.first()
    due = timezone.now() + timedelta(hours=1)
    orphan = Task.objects.create(customer=customer, title="Legacy orphan", due_at=due)
    queued = Task.objects.create(customer=customer, title="In the EU queue", due_at=due,
                                 team=Team.objects.get(name="Sales EU"))
    return orphan, queued


@pytest.mark.parametrize("persona,scope,status", [
    ("admin", "all", 200), ("compliance", "all", 200), ("manager", "all", 403), ("agent", "all", 403),
    ("manager", "queue", 200), ("agent", "queue", 200), ("admin", "everything", 400),
])
def test_task_scope_permissions(client_for, queue_tasks, persona, scope, status):
    response = client_for(persona).get(f"/api/crm/tasks?scope={scope}")
    assert response.status_code == status, response.content
    if status == 403:
        assert response.json()["code"] == "permission_denied"
    if status == 400:
        assert response.json()["code"] == "validation_error"


def test_scope_all_and_queue_show_unassigned_tasks(client_for, queue_tasks):
    orphan, queued = queue_tasks
    everything = {t["id"] for t in client_for("admin").get("/api/crm/tasks?scope=all").json()["results"]}
    assert {orphan.pk, queued.pk} <= everything
    admin_queue = {t["id"] for t in client_for("admin").get("/api/crm/tasks?scope=queue").json()["results"]}
    assert {orphan.pk, queued.pk} <= admin_queue
    manager_queue = client_for("manager").get("/api/crm/tasks?scope=queue").json()["results"]
    assert queued.pk in {t["id"] for t in manager_queue} and orphan.pk not in {t["id"] for t in manager_queue}
    assert all(t["assignee"] is None for t in manager_queue)


def test_tasks_page_scope_all_and_queue(client, demo, queue_tasks):
    client.force_login(demo["admin"])
    page = client.get("/tasks/?scope=all").content.decode()
    assert "All tasks" in page and "Legacy orphan" in page and 'data-testid="unassigned"' in page
    assert "queue: Sales EU" in client.get("/tasks/?scope=queue").content.decode()
    client.force_login(demo["manager"])
    assert client.get("/tasks/?scope=all").status_code == 403
    own = client.get("/tasks/").content.decode()
    assert 'data-testid="all-tasks"' not in own and 'data-testid="queue-tasks"' in own
    assert "In the EU queue" in client.get("/tasks/?scope=queue").content.decode()
