"""Yuan as typed by people to integer fen, exactly (never through floats)."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation


class MoneyError(ValueError):
    pass


def fen_from_yuan(text: str) -> int:
    """`12.5` -> 1250; refuses negatives, more than two decimals and anything not a number."""
    try:
        value = Decimal(text.strip().replace(",", "").replace("¥", ""))
    except InvalidOperation:
        raise MoneyError(text) from None
    if not value.is_finite() or value < 0 or value != value.quantize(Decimal("0.01")):
        raise MoneyError(text)
    return int(value * 100)
