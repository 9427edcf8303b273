"""Serializer building blocks shared by the apps' APIs."""

from __future__ import annotations

import copy

from rest_framework.serializers import BaseSerializer


class FieldsBuiltOnce:
    """A serializer mixin: `get_fields()` runs once per serializer class instead of once per instance — for a
    ModelSerializer the model introspection behind it (build_field for every Meta field, the extra and uniqueness
    kwargs), for a plain one the deep copy of its declared fields.

    Each instance gets its own copy of every field, so binding (name, parent, source) and context stay per instance:
    a shallow copy for a plain field (what `bind()` and the output set are the copy's own attributes; the shared
    parts, its kwargs, validators and messages, are only read), a deep copy for a nested serializer, as DRF copies
    declared fields. Only for serializers whose `get_fields()` depends on nothing but the class (no request, no
    context) and whose fields nobody changes per instance: the hot ones (a posting's input and output). Validation
    keeps its state per instance too: a field's validators list is built in its constructor and only read after."""

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:  # two threads may both build it the first time: same result, last one kept
            built = super().get_fields()  # type: ignore[misc]
            cls._fields_built_once = built
        return {name: copy.deepcopy(field) if isinstance(field, BaseSerializer) else copy.copy(field)
                for name, field in built.items()}
