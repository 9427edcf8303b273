"""Template helpers of the ledger pages: `{% if user|holds:"finance.create_adjustment" %}`."""

from django import template

register = template.Library()


@register.filter
def holds(user, code: str) -> bool:
    return bool(getattr(user, "holds", None)) and user.holds(code)
