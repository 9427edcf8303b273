"""Factories of teams' models: a test builds only the staff, roles and teams it needs (factory-boy).

`RoleFactory` defaults to the demo's agent role; the traits `manager`, `compliance` and `admin` give the demo's other
roles (teams.demo.ROLES). Teams are created through `team_create`, so their materialised path is right."""

from __future__ import annotations

import factory
from factory.django import DjangoModelFactory

from brokercrm.actors import SYSTEM
from teams.demo import DEMO_PASSWORD, ROLES
from teams.models import Role, Team, User
from teams.services import team_create


class TeamFactory(DjangoModelFactory):
    class Meta:
        model = Team

    name = factory.Sequence(lambda n: f"Team {n}")
    parent = None

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return team_create(by=SYSTEM, name=kwargs["name"], parent=kwargs.get("parent"), lead=kwargs.get("lead"))


class RoleFactory(DjangoModelFactory):
    class Meta:
        model = Role

    class Params:
        manager = factory.Trait(**ROLES["manager"])
        compliance = factory.Trait(**ROLES["compliance"])
        admin = factory.Trait(**ROLES["admin"])

    name = factory.Sequence(lambda n: f"role-{n}")
    permissions = ROLES["agent"]["permissions"]
    customer_view_scope = ROLES["agent"]["customer_view_scope"]
    customer_edit_scope = ROLES["agent"]["customer_edit_scope"]
    pii_email = ROLES["agent"]["pii_email"]
    pii_phone = ROLES["agent"]["pii_phone"]
    can_export_pii = ROLES["agent"]["can_export_pii"]
    approval_level = ROLES["agent"]["approval_level"]


class UserFactory(DjangoModelFactory):
    """A staff user (password `demo-password`) with a role and a team of their own unless given."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"staff{n}@factory.test")
    first_name = factory.Sequence(lambda n: f"Staff{n}")
    last_name = "Member"
    role = factory.SubFactory(RoleFactory)
    team = factory.SubFactory(TeamFactory)

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        password = kwargs.pop("password", DEMO_PASSWORD)
        return model_class.objects.create_user(kwargs.pop("email"), password, **kwargs)


def demo_staff() -> dict[str, User]:
    """The demo's staff and team tree only (no customers, money, templates …), same e-mails and password:
    Head Office → Sales EU (led by manager) → Sales UK; Sales LATAM; Finance & Compliance. Keys as the `demo`
    fixture's: admin, compliance, manager, agent, agent2 (UK), agent3 (EU), agent4 (LATAM)."""
    roles = {name: RoleFactory(name=name, **values) for name, values in ROLES.items()}
    head = TeamFactory(name="Head Office")
    eu = TeamFactory(name="Sales EU", parent=head)
    uk = TeamFactory(name="Sales UK", parent=eu)
    latam = TeamFactory(name="Sales LATAM", parent=head)
    finance = TeamFactory(name="Finance & Compliance", parent=head)
    people = [("admin", "admin", head), ("compliance", "compliance", finance), ("manager", "manager", eu),
              ("agent", "agent", uk), ("agent2", "agent", uk), ("agent3", "agent", eu), ("agent4", "agent", latam)]
    users = {name: UserFactory(email=f"{name}@demo.test", role=roles[role], team=team, is_staff=name == "admin")
             for name, role, team in people}
    Team.objects.filter(pk=eu.pk).update(lead=users["manager"])
    return users
