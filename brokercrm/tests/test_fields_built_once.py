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


def test_an_input_serializer_validates_each_instance_on_its_own():
    """A plain (input) serializer with fields built once: every instance validates, binds and reports errors by
    itself, exactly as the same serializer without the mixin."""
    from ledger.api.serializers import TransactionIn

    class TransactionInPlain(serializers.Serializer):
        pass

    TransactionInPlain._declared_fields = TransactionIn._declared_fields
    TransactionInPlain.validate = TransactionIn.validate
    cases = [{"type": "deposit", "amount": "10.50", "currency": "USD", "account_login": 5000001},
             {"type": "nope", "amount": "-x", "currency": "USDX", "comment": "c" * 501},
             {"type": "fee", "amount": "1", "currency": "EUR", "customer_id": 7, "idempotency_key": None},
             {"type": "fee", "amount": "1", "currency": "EUR"},
             {}]
    for _ in range(2):
        for data in cases:
            once, plain = TransactionIn(data=data), TransactionInPlain(data=data)
            assert once.is_valid() == plain.is_valid(), data
            assert once.errors == plain.errors and dict(once.validated_data) == dict(plain.validated_data), data
            assert all(field.parent is once for field in once.fields.values())
    assert TransactionIn().fields["amount"] is not TransactionIn().fields["amount"]


class Mixed(FieldsBuiltOnce, serializers.Serializer):
    """Plain fields (bound once on a prototype), a method field, and fields with a child (bound per instance)."""

    name = serializers.CharField(source="title", max_length=5)
    label = serializers.SerializerMethodField()
    tags = serializers.ListField(child=serializers.CharField(max_length=3))
    scores = serializers.DictField(child=serializers.IntegerField())

    def get_label(self, obj) -> str:
        return f"{obj['title']}:{self.context['who']}"


class MixedPlain(serializers.Serializer):
    """The same serializer without the mixin (DRF deep-copies the declared fields for each instance)."""

    get_label = Mixed.get_label


MixedPlain._declared_fields = Mixed._declared_fields


def test_prebound_copies_belong_to_their_instance_and_children_are_bound_per_instance():
    row = {"title": "abc", "tags": ["x", "y"], "scores": {"a": 1}}
    first, second = Mixed(row, context={"who": 1}), Mixed(row, context={"who": 2})
    assert first.data == {**MixedPlain(row, context={"who": 1}).data} == {
        "name": "abc", "label": "abc:1", "tags": ["x", "y"], "scores": {"a": 1}}
    assert second.data["label"] == "abc:2"  # the method field asks its own instance, with its own context
    for name in ("name", "label", "tags", "scores"):
        assert first.fields[name] is not second.fields[name]
        assert first.fields[name].parent is first and second.fields[name].parent is second
        assert first.fields[name].field_name == name
    assert first.fields["name"].source == "title" and first.fields["name"].source_attrs == ["title"]
    assert first.fields["name"].label == MixedPlain().fields["name"].label
    # A child is the instance's own, bound to its own parent field: its context is the instance's.
    assert first.fields["tags"].child is not second.fields["tags"].child
    assert first.fields["tags"].child.parent is first.fields["tags"]
    assert first.fields["tags"].child.context == {"who": 1}
    assert first.fields["scores"].child.parent is first.fields["scores"]
    # The prototypes stay unbound to any instance.
    for _name, field, _prebound in Mixed._fields_bound_once:
        assert getattr(field, "parent", None) is None


def test_validation_errors_match_the_plain_serializer():
    cases = ({"name": "toolong", "tags": ["abcd"], "scores": {"a": "x"}}, {"name": "ok", "tags": [], "scores": {}}, {})
    for data in cases:
        once, plain = Mixed(data=data), MixedPlain(data=data)
        assert once.is_valid() == plain.is_valid()
        assert once.errors == plain.errors


def test_a_subclass_that_overrides_get_fields_gets_its_own_fields():
    """The independent review's case: an override of `get_fields()` is honoured (DRF's `fields`)."""
    from ledger.api.serializers import TransactionOut

    class Narrow(TransactionOut):
        def get_fields(self):
            fields = super().get_fields()
            fields.pop("comment")
            return fields

    narrow, full = Narrow(), TransactionOut()
    assert "comment" not in narrow.fields and "comment" in full.fields
    assert set(full.fields) - set(narrow.fields) == {"comment"}
    assert all(field.parent is narrow for field in narrow.fields.values())
