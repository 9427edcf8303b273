"""Words on workspace pages: `{{ c.sales_status|label }}` shows "No answer" for `no_answer` (codes stay codes in
the API and in form values)."""

from django import template

from brokercrm.labels import label as _label

register = template.Library()


@register.filter
def label(value) -> str:
    return _label(value)


@register.simple_tag
def count_of(number, singular: str, plural: str = "") -> str:
    """`{% count_of n "overdue task" %}` → "1 overdue task", "3 overdue tasks"."""
    try:
        n = int(number)
    except (TypeError, ValueError):
        n = 0
    return f"{n:,} {singular if n == 1 else (plural or singular + 's')}"


@register.simple_tag(takes_context=True)
def field_error(context, form: str, name: str):
    """The server's message for field `name` of the customer page's form `form`, in words, next to the field."""
    from django.utils.html import format_html, format_html_join

    if context.get("ops_form") != form:
        return ""
    errors = (context.get("ops_errors") or {}).get(name) or []
    if not errors:
        return ""
    return format_html('<span class="field-error" id="err-{}-{}" data-testid="error-{}-{}" role="alert">{}</span>',
                       form, name, form, name, format_html_join(" ", "{}", ((e,) for e in errors)))


@register.simple_tag(takes_context=True)
def form_value(context, form: str, name: str, default=""):
    """The value the user typed into a form that came back with errors (else `default`)."""
    if context.get("ops_form") == form:
        value = (context.get("ops_values") or {}).get(name)
        if value not in (None, ""):
            return value
    return default
