"""The one registry of template placeholders, `{{namespace.name}}`, and their rendering.

Unknown names are refused at save time; values are HTML-escaped in HTML bodies and left as text elsewhere; a
missing value falls back to the configured default, never to the raw braces."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Placeholder:
    name: str
    description: str
    sample: str
    default: str = ""


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
BY_NAME = {p.name: p for p in REGISTRY}
PATTERN = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")


class UnknownPlaceholder(ValueError):
    def __init__(self, names: list[str]):
        super().__init__(f"Unknown placeholders: {', '.join(names)}")
        self.names = names


def find(text: str) -> list[str]:
    return [m.group(1) for m in PATTERN.finditer(text or "")]


def unknown(text: str) -> list[str]:
    return sorted({name for name in find(text) if name not in BY_NAME})


def validate(*texts: str) -> None:
    bad = sorted({name for text in texts for name in unknown(text)})
    if bad:
        raise UnknownPlaceholder(bad)


def render(text: str, context: dict[str, object], *, html_escape: bool, defaults: dict[str, str] | None = None) -> str:
    defaults = defaults or {}

    def value(match: re.Match) -> str:
        name = match.group(1)
        raw = context.get(name)
        if raw is None or raw == "":
            raw = defaults.get(name, BY_NAME[name].default if name in BY_NAME else "")
        out = str(raw)
        return html.escape(out) if html_escape else out

    return PATTERN.sub(value, text or "")


def sample_context() -> dict[str, str]:
    return {p.name: p.sample for p in REGISTRY}
