"""Redacting serializer fields shared by the apps' APIs (PII: teams owns them)."""

from __future__ import annotations

from rest_framework import serializers

from .. import pii


def _viewer(field):
    request = field.context.get("request")
    return request.user if request is not None else None  # no viewer: everything is redacted (fail closed)


def _follow(instance, path: str):
    for part in path.split(".") if path else ():
        instance = getattr(instance, part, None) if instance is not None else None
    return instance


class _Redacted:
    """The shared part: read-only, and the customer (a dotted path from the object, "" when the object is the
    customer) is loaded only for viewers who do not see contacts in full."""

    def __init__(self, *, customer: str = "customer", **kwargs):
        self.customer_path = customer
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def get_attribute(self, instance):
        value = super().get_attribute(instance)
        if pii.sees_contacts(_viewer(self)):
            return value, None  # nothing to redact: don't load the customer
        return value, _follow(instance, self.customer_path)


class RedactedText(_Redacted, serializers.CharField):
    """Staff-typed or rendered free text (notes, titles, comments, reasons, subjects, provider errors), shown as the
    viewer in `context["request"]` may see it: emails and phones in it through `teams.pii.redact_for`."""

    def to_representation(self, pair):
        value, customer = pair
        if value is None:
            return None
        return pii.redact_for(str(value), _viewer(self), customer)


class RedactedJSON(_Redacted, serializers.JSONField):
    """A JSON value (activity data, run logs) whose strings are redacted like `RedactedText`."""

    def to_representation(self, pair):
        value, customer = pair
        return pii.redact_data(value, _viewer(self), customer)
