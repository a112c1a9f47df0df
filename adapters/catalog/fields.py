"""Parsing one price-list field: money as exact ``Decimal`` from the text, sizes, counts.

Each parser returns the value or raises :class:`Rejected` naming the :class:`Skip`
reason, so a loader can count it and move on. Money is never routed through ``float``:
``Decimal("0.94803")`` is the price the list states, to the last digit.
"""

from __future__ import annotations

import math
from decimal import Decimal, InvalidOperation

from adapters.catalog.report import Skip


class Rejected(Exception):
    """A field that makes its row, or one of its offerings, unusable."""

    def __init__(self, reason: Skip) -> None:
        super().__init__(str(reason))
        self.reason = reason


def _decimal(text: str) -> Decimal | None:
    """The finite number ``text`` spells, or None. ``text`` is stripped, not empty."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def on_demand_price(text: str, *, allow_zero: bool = False) -> Decimal:
    """An on-demand $/hour: present, numeric and above zero (or zero, if ``allow_zero``:
    a part of a price that another part completes)."""
    text = text.strip()
    if not text:
        raise Rejected(Skip.PRICE_MISSING)
    value = _decimal(text)
    if value is None:
        raise Rejected(Skip.PRICE_NOT_NUMERIC)
    if value < 0 or (value == 0 and not allow_zero):
        raise Rejected(Skip.PRICE_NOT_POSITIVE)
    return value


def spot_price(text: str, *, allow_zero: bool = False) -> Decimal | None:
    """A spot $/hour, or None when the list has none (an empty field)."""
    text = text.strip()
    if not text:
        return None
    value = _decimal(text)
    if value is None:
        raise Rejected(Skip.SPOT_NOT_NUMERIC)
    if value < 0 or (value == 0 and not allow_zero):
        raise Rejected(Skip.SPOT_NOT_POSITIVE)
    return value


def check_spot(spot: Decimal, on_demand: Decimal) -> Decimal:
    """``spot`` if it is not above ``on_demand`` (equal is allowed: a poor deal, not a lie)."""
    if spot > on_demand:
        raise Rejected(Skip.SPOT_ABOVE_ON_DEMAND)
    return spot


def size(text: str) -> float:
    """vCPUs or GiB of memory: present, finite, above zero."""
    text = text.strip()
    if not text:
        raise Rejected(Skip.SIZE_MISSING)
    try:
        value = float(text)
    except ValueError:
        raise Rejected(Skip.SIZE_INVALID) from None
    if not math.isfinite(value) or value <= 0:
        raise Rejected(Skip.SIZE_INVALID)
    return value


def gpu_count(text: str) -> int:
    """A whole number of accelerators (``"8"`` or ``"8.0"``); empty means none."""
    text = text.strip()
    if not text:
        return 0
    value = _decimal(text)
    if value is None or value < 0:
        raise Rejected(Skip.GPU_COUNT_INVALID)
    if value != value.to_integral_value():
        raise Rejected(Skip.FRACTIONAL_GPU)
    return int(value)
