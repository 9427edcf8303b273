"""Human labels for the codes the workspace shows (statuses, types, levels). The API keeps its codes; pages show
these words through the `label` template filter (crm/templatetags/words.py)."""

from __future__ import annotations

# Only the codes whose words are not simply "the code with spaces, first letter capital".
_SPECIAL = {
    "kyc": "KYC", "sms": "SMS", "email": "Email", "ib_payment": "IB payment", "fx": "FX", "usd": "USD",
    "no_answer": "No answer", "not_submitted": "Not submitted", "no_deposit": "No deposit",
    "pending_approval": "Pending approval", "payout_pending": "Payout pending", "in_progress": "In progress",
    "credit_in": "Credit in", "credit_out": "Credit out", "bonus_in": "Bonus in", "bonus_out": "Bonus out",
    "correction_in": "Correction in", "correction_out": "Correction out", "transfer_in": "Transfer in",
    "transfer_out": "Transfer out", "chargeback_reversal": "Chargeback reversal", "backoffice": "Back office",
}


def label(code) -> str:
    """`no_answer` → "No answer"; `pending_approval` → "Pending approval"; empty → ""."""
    if code is None:
        return ""
    text = str(code)
    if not text:
        return ""
    special = _SPECIAL.get(text.lower())
    if special:
        return special
    words = text.replace("_", " ").replace(".", " ").strip()
    return words[:1].upper() + words[1:]


def choices(codes) -> list[tuple[str, str]]:
    """(code, label) pairs for a <select>."""
    return [(str(code), label(code)) for code in codes]
