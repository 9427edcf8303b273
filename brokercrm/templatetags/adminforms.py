"""Form helpers of the administration pages: a field's errors in words beside it, a posted value back in its box."""

from django import template
from django.utils.html import format_html, format_html_join

register = template.Library()


@register.filter
def get(mapping, key):
    """`values|get:"email"`: a posted value (QueryDict or dict), or "" when absent."""
    if not mapping:
        return ""
    value = mapping.get(key, "")
    return "" if value is None else value


@register.simple_tag
def field_errors(errors, name):
    """The errors of field `name` in `<p class="error" id="error-<name>">`: the target of the field's
    aria-describedby, so it is rendered (empty) even when the field is fine."""
    found = (errors or {}).get(name) or []
    if not found:
        return format_html('<p class="error field-error" id="error-{}" data-testid="error-{}"></p>', name, name)
    return format_html('<p class="error field-error" id="error-{}" role="alert" data-testid="error-{}">{}</p>',
                       name, name, format_html_join(" ", "{}", ((m,) for m in found)))


@register.filter
def attr_of(obj, name):
    """`settings|attr_of:"weight_email"`: an attribute named by a variable."""
    return getattr(obj, str(name), "")


@register.filter
def lines(values):
    """A list shown one item a line (in a textarea)."""
    return "\n".join(str(v) for v in values or ())
