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


@register.simple_tag(takes_context=True)
def redact(context, value, customer=None):
    """Free text (a note, a task title, an activity summary, a subject) with its emails and phones shown as the
    viewer may see them; `customer` is the customer the text is about (their own email and phone are known).
    Use `{% redact note.body customer as text %}{{ text|linebreaksbr }}` to filter further."""
    return pii.redact_for(value, context["request"].user, customer) or ""
