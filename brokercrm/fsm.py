"""django-fsm helpers shared by the apps' models."""

from __future__ import annotations

from django_fsm import FSMFieldMixin


class StateFieldsOnce:
    """Put before django-fsm's `ConcurrentTransitionMixin`: its state fields are found once per model class.

    The mixin records an instance's initial states in `__init__` (and after each save), and looked its state fields
    up each time by testing every field of the model (`filter(isinstance, _meta.fields)`): for a model of fifty
    fields, every instance built paid for it. A model's fields are fixed once the app registry is ready, so the
    answer is kept on the class; the states themselves are still read from each instance."""

    @property
    def state_fields(self):
        cls = type(self)
        found = cls.__dict__.get("_state_fields_once")
        if found is None:
            found = tuple(field for field in cls._meta.fields if isinstance(field, FSMFieldMixin))
            cls._state_fields_once = found
        return found
