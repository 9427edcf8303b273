"""The one registry of template placeholders, and finding, validating and rendering them in template text.

Syntax: `{{`, optional whitespace, a dotted name such as `customer.first_name`, optional whitespace, `}}`. Every
`{{` must open such a placeholder. Anything else after it (`{{ first name }}`, `{{}}`, `{{{customer.email}}}`, a
`{{` never closed on its line) is malformed: `find` reports it verbatim, braces included, so that it can never be
mistaken for a name, and `unknown` and `validate` refuse it together with the names the registry does not know.

Rendering:

- `context` maps full names (`"customer.first_name"`) to values of any type; they are inserted with `str()`.
- A missing value (absent, None, or blank text) falls back to `defaults[name]`, then to the registry's default
  ("Client" for the customer's name, "BrokerCRM" for the platform name, "" for most), then to "".
- With `html=True` every inserted text is HTML-escaped, quotes included, because placeholders also sit in
  attributes (`href="{{broker.website_url}}"`). With `html=False` (subjects, text bodies, SMS) it is inserted as is.
- Values are inserted in one pass: a value that looks like a placeholder (a customer named "{{agent.email}}") is
  text, never expanded again.
- The output never shows template syntax: unknown names render as "", malformed placeholders are dropped, and an
  unclosed `{{` loses its braces. Saved templates cannot contain either (they are validated); this only matters
  for previews of unsaved text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from html import escape


@dataclass(frozen=True)
class Placeholder:
    """A value a template may use as `{{ name }}`, with what the builder shows and what renders when it is missing."""

    name: str
    description: str
    sample: str
    default: str = ""

    @property
    def namespace(self) -> str:
        """The part before the dot: customer, agent, broker, transaction or account."""
        return self.name.split(".", 1)[0]

    def to_dict(self) -> dict[str, str]:
        """The JSON shape served to the template builder."""
        return {"namespace": self.namespace, **asdict(self)}


REGISTRY: tuple[Placeholder, ...] = (
    Placeholder("customer.first_name", "Customer's first name", "John", "Client"),
    Placeholder("customer.last_name", "Customer's last name", "Doe"),
    Placeholder("customer.full_name", "Customer's full name", "John Doe", "Client"),
    Placeholder("customer.email", "Customer's email address", "sample.customer@example.invalid"),
    Placeholder("customer.phone", "Customer's phone (E.164)", "+441632960999"),
    Placeholder("customer.country", "Customer's country (ISO code)", "GB"),
    Placeholder("customer.locale", "Customer's locale", "en"),
    Placeholder("customer.group", "Customer's group", "Standard"),
    Placeholder("customer.account_login", "Login of the customer's first trading account", "5000001"),
    Placeholder("agent.first_name", "Assigned agent's first name", "Alex", "your account manager"),
    Placeholder("agent.last_name", "Assigned agent's last name", "Agent"),
    Placeholder("agent.full_name", "Assigned agent's full name", "Alex Agent", "your account manager"),
    Placeholder("agent.email", "Assigned agent's email", "agent@demo.test"),
    Placeholder("broker.platform_name", "Platform name", "BrokerCRM", "BrokerCRM"),
    Placeholder("broker.support_email", "Support email", "support@brokercrm.local"),
    Placeholder("broker.website_url", "Website", "https://brokercrm.local"),
    Placeholder("broker.company_name", "Company name", "BrokerCRM Ltd"),
    Placeholder("transaction.id", "Transaction number", "1042"),
    Placeholder("transaction.type", "Transaction type", "deposit"),
    Placeholder("transaction.amount", "Transaction amount", "250.00"),
    Placeholder("transaction.currency", "Transaction currency", "USD"),
    Placeholder("transaction.status", "Transaction status", "completed"),
    Placeholder("account.login", "Trading account login", "5000001"),
    Placeholder("account.currency", "Trading account currency", "USD"),
    Placeholder("account.balance", "Trading account balance", "1000.00"),
)
BY_NAME: dict[str, Placeholder] = {p.name: p for p in REGISTRY}
NAMESPACES: dict[str, tuple[Placeholder, ...]] = {
    namespace: tuple(p for p in REGISTRY if p.namespace == namespace)
    for namespace in dict.fromkeys(p.namespace for p in REGISTRY)
}
# What `GET /api/platform/placeholders` serves: [{"namespace", "name", "description", "sample", "default"}].
PLACEHOLDERS: list[dict[str, str]] = [p.to_dict() for p in REGISTRY]

_NAME = r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*"
# Tried in order at each "{{": a placeholder; else a malformed one closed on the same line; else an unclosed "{{"
# with the rest of its line (capped, to keep error messages short).
_TOKEN = re.compile(
    r"\{\{\s*(?P<name>" + _NAME + r")\s*\}\}"
    r"|\{\{(?P<closed>[^\n]{0,60}?)\}\}"
    r"|\{\{(?P<open>[^\n]{0,30})"
)


class UnknownPlaceholder(ValueError):
    """Template text uses names the registry does not know, or malformed placeholders (reported verbatim)."""

    def __init__(self, names: Sequence[str]):
        # The names are the only argument, so the error pickles (and crosses to a worker) intact.
        super().__init__(list(names))
        self.names: list[str] = list(names)

    def __str__(self) -> str:
        return "Unknown placeholders: " + ", ".join(self.names)


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def find(text: str) -> list[str]:
    """The placeholders `text` uses, in order of first use: names, and malformed ones verbatim ("{{ first name }}")."""
    return _unique([match.group("name") or match.group(0).rstrip() for match in _TOKEN.finditer(text)])


def unknown(text: str) -> list[str]:
    """What `find` reports that is not a registered name, in order of first use."""
    return [name for name in find(text) if name not in BY_NAME]


def validate(*texts: str) -> None:
    """Refuse template texts (e.g. subject, HTML and text body) that use unknown or malformed placeholders.

    Raises `UnknownPlaceholder` listing every offender once, in order of first use.
    """
    names = _unique([name for text in texts for name in unknown(text)])
    if names:
        raise UnknownPlaceholder(names)


def _present(value: object) -> str | None:
    """`value` as text, or None when it is missing (None, or text that is empty or only whitespace)."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _escape_values(html: bool | None, html_escape: bool | None) -> bool:
    if html is None and html_escape is None:
        raise TypeError("render() needs html=True (HTML bodies) or html=False (subjects, text bodies, SMS)")
    if html is not None and html_escape is not None and html != html_escape:
        raise TypeError("render() got html and html_escape with different values")
    return bool(html if html is not None else html_escape)


def render(
    text: str,
    context: Mapping[str, object],
    *,
    html: bool | None = None,
    defaults: Mapping[str, str] | None = None,
    html_escape: bool | None = None,
) -> str:
    """Fill the placeholders of `text` from `context` (full names → values); see the module docstring for the rules.

    `html` is required: True escapes every inserted value for an HTML body. `html_escape` is its former name, kept
    for existing callers.
    """
    escape_values = _escape_values(html, html_escape)
    fallbacks = defaults or {}

    def substitute(match: re.Match[str]) -> str:
        name = match.group("name")
        if name is None:
            return match.group("open") or ""
        value = _present(context.get(name))
        if value is None and name in fallbacks:
            value = fallbacks[name]
        elif value is None:
            value = BY_NAME[name].default if name in BY_NAME else ""
        return escape(value, quote=True) if escape_values else value

    return _TOKEN.sub(substitute, text)


def sample_context() -> dict[str, str]:
    """A fresh context of every registered placeholder's sample value, for previews without a customer."""
    return {p.name: p.sample for p in REGISTRY}
