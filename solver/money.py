"""Money inside the solver is integer micro-dollars; outside it is ``Decimal`` dollars."""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

MICROS_PER_DOLLAR = 1_000_000
_MICRO = Decimal("0.000001")


def to_micros(amount: Decimal) -> int:
    """Dollars to integer micro-dollars, rounding half to even."""
    return int((amount * MICROS_PER_DOLLAR).to_integral_value(rounding=ROUND_HALF_EVEN))


def from_micros(micros: int) -> Decimal:
    """Integer micro-dollars to dollars (exact, 6 decimal places)."""
    return (Decimal(micros) / MICROS_PER_DOLLAR).quantize(_MICRO)
