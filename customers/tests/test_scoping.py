"""One scoping mechanism (issue #11): every customer-owned model's queryset is `CustomerOwnedQuerySet`, following a
declared path to its customer; `SYSTEM` is the explicit system actor and `None` raises."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.apps import apps
from django.db import models
from django.utils import timezone

from brokercrm.actors import SYSTEM
from customers.models import Customer, CustomerOwnedQuerySet, CustomerUserObjectPermission
from ledger.tests.factories import TransactionFactory, customer_with_account
from teams.tests.factories import demo_staff


@pytest.fixture
def demo(db):
    """The demo's staff and two customers with a deposit: one of the agent (Sales UK), one of Sales LATAM."""
    staff = demo_staff()
    for agent in (staff["agent"], staff["agent4"]):
        TransactionFactory(account=customer_with_account("GB", assigned_to=agent).accounts.first(), by=staff["admin"])
    return staff


# Models with a path to a customer that are not customer data shown to staff, and why.
NOT_SCOPED = {
    CustomerUserObjectPermission: "the per-object grant itself: it defines visibility (guardian's own manager)",
}


def _customer_owned_models() -> dict[type[models.Model], str]:
    """Every model with a foreign key to Customer, or to a model that has one (transitively), with the first path
    found to the customer ("customer", "transaction__customer", …)."""
    owned: dict[type[models.Model], str] = {}
    changed = True
    while changed:
        changed = False
        for model in apps.get_models():
            if model is Customer or model in owned:
                continue
            for field in model._meta.get_fields():
                if not isinstance(field, models.ForeignKey):  # one-to-one fields are foreign keys too
                    continue
                target = field.related_model
                if target is Customer:
                    owned[model] = field.name
                elif target in owned and target is not model:
                    owned[model] = f"{field.name}__{owned[target]}"
                else:
                    continue
                changed = True
                break
    return owned


def _resolves_to_customer(model: type[models.Model], path: str) -> bool:
    for name in path.split("__"):
        model = model._meta.get_field(name).related_model
        if model is None:
            return False
    return model is Customer


def test_every_customer_owned_model_offers_the_scope():
    owned = _customer_owned_models()
    # The walk finds the models the issue names: fail loudly if the introspection itself broke.
    names = {m._meta.label for m in owned}
    assert {"customers.Activity", "crm.Note", "crm.Task", "ledger.Transaction", "ledger.TradingAccount",
            "ledger.PaymentAttempt", "comms.Message", "crm.PlatformAccount"} <= names
    missing = []
    for model in owned:
        if model in NOT_SCOPED:
            continue
        qs = model._default_manager.all()
        if not isinstance(qs, CustomerOwnedQuerySet):
            missing.append(f"{model._meta.label}: {type(qs).__name__} (use customers.models.CustomerOwnedQuerySet)")
            continue
        path = qs.customer_path()
        if not _resolves_to_customer(model, path):
            missing.append(f"{model._meta.label}: customer_path {path!r} does not lead to customers.Customer")
    assert not missing, "\n".join(missing)


@pytest.mark.django_db
def test_owned_rows_follow_their_customers_scope(demo):
    from crm.models import Note, NoteRevision, Task
    from ledger.models import PaymentAttempt, TradingAccount, Transaction

    agent = demo["agent"]
    mine = Customer.objects.filter(assigned_to=agent).order_by("pk").first()
    other = Customer.objects.filter(team__name="Sales LATAM").order_by("pk").first()
    notes = [Note.objects.create(customer=c, body="x", author=demo["admin"]) for c in (mine, other)]
    for note in notes:
        NoteRevision.objects.create(note=note, body="old", author=demo["admin"], written_at=timezone.now())
    txs = [Transaction.objects.filter(customer=c).first() for c in (mine, other)]
    for tx in filter(None, txs):
        PaymentAttempt.objects.create(provider="sandbox", order_id=f"o{tx.pk}", transaction=tx, tid=f"t{tx.pk}",
                                      status="approved")
    for model in (Note, NoteRevision, TradingAccount, Transaction, PaymentAttempt):
        path = model.objects.all().customer_path()
        seen = set(model.objects.visible_to(agent).values_list(path, flat=True))
        assert other.pk not in seen, model
        assert set(model.objects.visible_to(SYSTEM).values_list(path, flat=True)) >= seen
    assert mine.pk in set(Note.objects.visible_to(agent).values_list("customer", flat=True))
    assert not Note.objects.editable_by(demo["compliance"]).exists()  # compliance: edit scope none
    # A task is also visible to its assignee, whatever the customer.
    task = Task.objects.create(customer=other, title="t", due_at=timezone.now() + timedelta(days=1), assignee=agent)
    assert Task.objects.visible_to(agent).filter(pk=task.pk).exists()
    assert not Task.objects.visible_to(demo["agent2"]).filter(pk=task.pk).exists()


@pytest.mark.django_db
def test_a_missing_actor_raises_instead_of_meaning_unscoped(demo):
    """`by=None` used to mean "the system, unscoped": a caller that forgot the actor got everything."""
    from crm.models import Note
    from crm.services import task_complete, task_create
    from customers.services import customer_transition
    from ledger.services import transaction_create
    from teams.services import team_create

    customer = Customer.objects.order_by("pk").first()
    with pytest.raises(TypeError):
        Customer.objects.visible_to(None)
    with pytest.raises(TypeError):
        Customer.objects.editable_by(None)
    with pytest.raises(TypeError):
        Note.objects.visible_to(None)
    with pytest.raises(TypeError):
        customer_transition(customer=customer, pipeline="sales", to="contacted", by=None)
    with pytest.raises(TypeError):
        task_create(customer=customer, title="t", due_at=timezone.now(), by=None)
    with pytest.raises(TypeError):
        transaction_create(by=None, type="deposit", amount="5.00", currency="USD", customer_id=customer.pk)
    with pytest.raises(TypeError):
        team_create(by=None, name="Nobody's")
    # The system says so explicitly, and is recorded as no user.
    task = task_create(customer=customer, title="system task", due_at=timezone.now(), by=SYSTEM)
    assert task.created_by is None
    with pytest.raises(TypeError):
        task_complete(task=task, by=None)
    moved = customer_transition(customer=customer, pipeline="sales", to="contacted", by=SYSTEM)
    assert moved.sales_status == "contacted"
    assert moved.activities.filter(verb="status.changed").latest("id").actor_id is None


@pytest.mark.django_db
def test_scope_all_skips_the_subquery_and_keeps_the_same_rows(demo):
    """Issue #16: with scope "all" (or a superuser) the owned rows are those with a customer, without the
    `customer_id IN (SELECT id FROM customers)` subquery; narrower scopes keep it."""
    from crm.models import Note
    from ledger.models import TradingAccount, Transaction

    admin = demo["admin"]
    assert admin.role.customer_view_scope == "all"
    Note.objects.create(customer=Customer.objects.order_by("pk").first(), body="x", author=admin)
    for model in (Note, TradingAccount, Transaction):
        path = model.objects.all().customer_path()
        qs = model.objects.visible_to(admin)
        assert "IN (SELECT" not in str(qs.query), model
        assert set(qs.values_list("pk", flat=True)) == set(
            model.objects.filter(**{f"{path}__in": Customer.objects.all()}).values_list("pk", flat=True)), model
        assert qs.exists(), model
        assert "IN (SELECT" in str(model.objects.visible_to(demo["agent"]).query), model
    admin.is_active = False
    assert not TradingAccount.objects.visible_to(admin).exists()
