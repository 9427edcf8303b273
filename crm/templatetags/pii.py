"""Template filters that route every email and phone on a page through teams.pii for the viewer."""

from django import template

from teams import pii

register = template.Library()


@register.simple_tag(takes_context=True)
def show_email(context, value):
    return pii.show_email(value, context["request"].user) or "—"


@register.simple_tag(takes_context=True)
def show_phone(context, value):
    return pii.show_phone(value, context["request"].user) or "—"
