"""brokercrm.api.serializers.FieldsBuiltOnce: a ModelSerializer's model introspection runs once per class, and every
instance still gets fields of its own (bound to it, with its own context), as DRF's declared fields are."""

from __future__ import annotations

from rest_framework import serializers

from brokercrm.api.serializers import FieldsBuiltOnce
from teams.models import Role


class RoleOut(FieldsBuiltOnce, serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "name", "customer_view_scope"]


class RoleOutPlain(serializers.ModelSerializer):
    class Meta:
        model = Role
        fields = ["id", "name", "customer_view_scope"]


def test_fields_are_built_once_per_class_and_copied_per_instance(monkeypatch):
    calls = []
    original = serializers.ModelSerializer.get_fields

    def counting(self):
        calls.append(type(self))
        return original(self)

    monkeypatch.setattr(serializers.ModelSerializer, "get_fields", counting)
    role = Role(id=7, name="Desk", customer_view_scope="team")
    first, second = RoleOut(role, context={"who": 1}), RoleOut(role, context={"who": 2})
    assert first.data == second.data == RoleOutPlain(role).data  # same output as the plain serializer
    assert calls.count(RoleOut) == 1  # introspected once for both instances
    for name in ("id", "name", "customer_view_scope"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
    assert first.fields["name"].context == {"who": 1} and second.fields["name"].context == {"who": 2}
    assert type(first.fields["customer_view_scope"]) is type(RoleOutPlain(role).fields["customer_view_scope"])
    # The class's fields are prototypes: never bound, so no instance's binding leaks into another's.
    for field in RoleOut._fields_built_once.values():
        assert getattr(field, "parent", None) is None and getattr(field, "field_name", None) is None
