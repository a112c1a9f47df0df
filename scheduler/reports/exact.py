"""Exact numbers for the reports: integer micro-dollars and microseconds in, ``Decimal``
out, rounded half to even once, at the end."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

from scheduler.analysis.money import rescale_micros

US_PER_S = 1_000_000
US_PER_HOUR = 3600 * US_PER_S


def us(delta: timedelta) -> int:
    """A timedelta in whole microseconds (exact)."""
    return (delta.days * 86_400 + delta.seconds) * US_PER_S + delta.microseconds


def exact_us(seconds: float) -> int:
    """Float seconds as microseconds, rounded half to even from the float's exact value."""
    with localcontext() as ctx:
        ctx.prec = 100
        return int((Decimal(seconds) * US_PER_S).to_integral_value(ROUND_HALF_EVEN))


def fixed(n: int, places: int) -> Decimal:
    """The integer ``n`` scaled down by ``places`` decimal places, showing all of them."""
    return Decimal(n).scaleb(-places).quantize(Decimal(1).scaleb(-places))


def money(micros: int) -> Decimal:
    """Micro-dollars as dollars (6 places)."""
    return fixed(micros, 6)


def hours(microseconds: int) -> Decimal:
    """Microseconds as hours, rounded half to even to a micro-hour."""
    return fixed(rescale_micros(microseconds, 1, 3600), 6)


def seconds(microseconds: int) -> Decimal:
    return fixed(microseconds, 6)


def pct(numerator: int, denominator: int) -> Decimal | None:
    """``numerator / denominator`` in percent, 2 places (None when the denominator is 0)."""
    if denominator <= 0:
        return None
    return fixed(rescale_micros(numerator, 10_000, denominator), 2)


def nearest_rank(sorted_values: Sequence[int], p: int) -> int:
    """The nearest-rank ``p``-th percentile of ascending values: the value at rank
    ``ceil(p/100 x n)`` (at least 1)."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, -(-p * len(sorted_values) // 100))
    return sorted_values[rank - 1]
