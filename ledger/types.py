"""The 15 transaction types: what each does to a trading account, its house book, and whether it needs approval."""

from __future__ import annotations

from dataclasses import dataclass

from .models import TxType


@dataclass(frozen=True)
class TypeSpec:
    bucket: str  # "balance" or "credit": which side of the trading account moves
    sign: int  # +1 adds to the bucket, -1 takes from it
    house: str  # the counter-book of the double entry
    needs_approval: bool
    permission: str


T = TxType
TYPES: dict[str, TypeSpec] = {
    T.DEPOSIT: TypeSpec("balance", +1, "house:cash", False, "finance.create_deposit"),
    T.WITHDRAWAL: TypeSpec("balance", -1, "house:cash", True, "finance.create_withdrawal"),
    T.CREDIT_IN: TypeSpec("credit", +1, "house:credit", True, "finance.create_adjustment"),
    T.CREDIT_OUT: TypeSpec("credit", -1, "house:credit", False, "finance.create_adjustment"),
    T.BONUS_IN: TypeSpec("balance", +1, "house:bonus", True, "finance.create_adjustment"),
    T.BONUS_OUT: TypeSpec("balance", -1, "house:bonus", False, "finance.create_adjustment"),
    T.CORRECTION_IN: TypeSpec("balance", +1, "house:corrections", True, "finance.create_adjustment"),
    T.CORRECTION_OUT: TypeSpec("balance", -1, "house:corrections", True, "finance.create_adjustment"),
    T.IB_PAYMENT: TypeSpec("balance", +1, "house:ib", True, "finance.create_adjustment"),
    T.CHARGEBACK: TypeSpec("balance", -1, "house:chargebacks", False, "finance.create_adjustment"),
    T.CHARGEBACK_REVERSAL: TypeSpec("balance", +1, "house:chargebacks", True, "finance.create_adjustment"),
    T.TRANSFER_IN: TypeSpec("balance", +1, "house:transfers", False, "finance.create_adjustment"),
    T.TRANSFER_OUT: TypeSpec("balance", -1, "house:transfers", False, "finance.create_adjustment"),
    T.FEE: TypeSpec("balance", -1, "house:fees", False, "finance.create_adjustment"),
    T.REFUND: TypeSpec("balance", -1, "house:cash", True, "finance.create_adjustment"),
}
assert len(TYPES) == 15

# Debits of the balance that may not overdraw the available funds (a chargeback may: that is what freezes).
GUARDED_DEBITS = {T.WITHDRAWAL, T.BONUS_OUT, T.CORRECTION_OUT, T.TRANSFER_OUT, T.FEE, T.REFUND}
