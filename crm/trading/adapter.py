"""What a trading-platform bridge (MT4/MT5/cTrader) provides to the CRM: open positions and prices.

Account state follows the product sheet: equity = balance + credit + pnl; free_margin = equity − margin_used;
margin_level = equity / margin_used × 100, and `null` while no margin is used (no open positions)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Position:
    symbol: str
    side: int  # +1 buy, -1 sell
    volume: float  # lots
    open_price: float
    contract_size: float
    leverage: float = 100.0

    def pnl(self, price: float) -> float:
        return (price - self.open_price) * self.side * self.volume * self.contract_size

    def margin(self, price: float) -> float:
        return price * self.volume * self.contract_size / self.leverage


@dataclass(frozen=True)
class AccountState:
    balance: float
    credit: float
    equity: float
    pnl: float
    margin_used: float
    free_margin: float
    margin_level: float | None
    currency: str

    def as_event(self) -> dict:
        """Exactly the sheet's fields, JSON numbers."""
        return {"balance": self.balance, "credit": self.credit, "equity": self.equity, "pnl": self.pnl,
                "margin_used": self.margin_used, "free_margin": self.free_margin,
                "margin_level": self.margin_level, "currency": self.currency}


def account_state(*, balance: Decimal | float, credit: Decimal | float, currency: str,
                  positions: list[Position], prices: dict[str, float]) -> AccountState:
    pnl = round(sum(p.pnl(prices[p.symbol]) for p in positions), 2)
    margin = round(sum(p.margin(prices[p.symbol]) for p in positions), 2)
    balance, credit = float(balance), float(credit)
    equity = round(balance + credit + pnl, 2)
    return AccountState(balance=balance, credit=credit, equity=equity, pnl=pnl, margin_used=margin,
                        free_margin=round(equity - margin, 2),
                        margin_level=round(equity / margin * 100, 1) if margin else None, currency=currency)


class TradingPlatform:
    """The adapter interface a real bridge implements."""

    def positions(self, login: int, funds: float | None = None) -> list[Position]:
        """Open positions of `login` (`funds`, balance + credit, lets a simulator size them)."""
        raise NotImplementedError

    def prices(self) -> dict[str, float]:
        raise NotImplementedError
