"""Serializer building blocks shared by the apps' APIs."""

from __future__ import annotations

import copy


class FieldsBuiltOnce:
    """A ModelSerializer mixin: the model introspection behind `get_fields()` (ModelSerializer.build_field for every
    Meta field, the extra and uniqueness kwargs) runs once per serializer class instead of once per instance.

    Each instance still gets its own deep copy of the fields, exactly as DRF gives every instance a copy of the
    declared fields, so binding, context and per-instance changes stay per instance. Only for serializers whose
    `get_fields()` depends on nothing but the class (no request, no context): the hot output serializers."""

    def get_fields(self):
        cls = type(self)
        built = cls.__dict__.get("_fields_built_once")
        if built is None:  # two threads may both build it the first time: same result, last one kept
            built = super().get_fields()  # type: ignore[misc]
            cls._fields_built_once = built
        return copy.deepcopy(built)
