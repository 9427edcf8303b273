"""Serializer building blocks shared by the apps' APIs."""

from __future__ import annotations

import copy

from django.utils.functional import cached_property
from rest_framework.fields import Field, SerializerMethodField
from rest_framework.serializers import BaseSerializer, Serializer
from rest_framework.utils.serializer_helpers import BindingDict

# Fields whose binding is only their own attributes (name, label, source, method name): bound once on a
# prototype, an instance's copy only needs its parent. A field with a child (a list, a many-relation) binds the child
# to itself, and a nested serializer has fields of its own: those are deep-copied and bound per instance, as DRF does.
_PLAIN_BINDS = (Field.bind, SerializerMethodField.bind)


def _plain(field) -> bool:
    return (type(field).bind in _PLAIN_BINDS and not isinstance(field, BaseSerializer)
            and not hasattr(field, "child") and not hasattr(field, "child_relation"))


class FieldsBuiltOnce:
    """A serializer mixin: `get_fields()` runs once per serializer class instead of once per instance — for a
    ModelSerializer the model introspection behind it (build_field for every Meta field, the extra and uniqueness
    kwargs), for a plain one the deep copy of its declared fields — and each plain field is bound once, on a
    prototype.

    Each instance still gets its own copy of every field, bound to it (its parent, hence its context): for a plain
    field a copy of the bound prototype's attributes with the instance as parent (what `bind()` sets is the copy's
    own; the shared parts, its kwargs, validators and messages, are only read); a field with a child or a nested
    serializer is deep-copied and bound per instance, as DRF does for declared fields. Only for serializers whose
    `get_fields()` depends on nothing but the class (no request, no context) and whose fields nobody changes per
    instance: the hot ones (a posting's input and output). A subclass that overrides `get_fields()` gets DRF's own
    `fields` (its override, over copies of the fields built once). Validation keeps its state per instance too: a
    field's validators list is built in its constructor and only read after."""

    def get_fields(self):
        return {name: copy.deepcopy(field) for name, field in self._fields_once().items()}

    def _fields_once(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:  # two threads may both build it the first time: same result, last one kept
            built = super().get_fields()  # type: ignore[misc]
            cls._fields_built_once = built
        return built

    def _bound_once(self):
        cls = type(self)
        bound = cls.__dict__.get("_fields_bound_once")
        if bound is None:
            bound = []
            for name, field in self._fields_once().items():
                if _plain(field):
                    field = copy.deepcopy(field)
                    field.bind(field_name=name, parent=None)
                    bound.append((name, field, True))
                else:
                    bound.append((name, field, False))
            cls._fields_bound_once = bound
        return bound

    @cached_property
    def fields(self):
        if type(self).get_fields is not FieldsBuiltOnce.get_fields:  # a subclass shapes its own fields: DRF's way
            return Serializer.fields.func(self)
        fields = BindingDict(self)
        for name, field, prebound in self._bound_once():
            if prebound:
                own = object.__new__(type(field))
                own.__dict__.update(field.__dict__)
                own.parent = self
                fields.fields[name] = own
            else:
                fields[name] = copy.deepcopy(field)  # binds it to this instance
        return fields
