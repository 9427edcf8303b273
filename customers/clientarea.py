"""The client area's home page takes panels from higher apps (a registry, like comms' workflow actions): the money
panel (balances, pending withdrawals, history) is ledger's. A provider takes `customer=` and returns template
context; the app registers it in its `AppConfig.ready()` (`ledger.apps`)."""

from __future__ import annotations

from collections.abc import Callable

_home_context_providers: dict[str, Callable[..., dict]] = {}


def client_home_context_register(name: str, provider: Callable[..., dict]) -> None:
    """Add (or replace, by `name`) a provider of context for the client area's home page."""
    _home_context_providers[name] = provider


def client_home_context(*, customer) -> dict:
    """The context every registered provider gives for `customer`'s home page."""
    context: dict = {}
    for provider in _home_context_providers.values():
        context.update(provider(customer=customer))
    return context
