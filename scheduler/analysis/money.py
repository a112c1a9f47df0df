"""Exact money in frames: ``Decimal`` dollars in object columns, floats only to plot.

The store keeps computed costs as integer micro-dollars and billed costs as exact
decimal text; every analysis column that holds money holds :class:`~decimal.Decimal`
dollars, summed with Python's exact addition (pandas would go through float).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

import pandas as pd

from solver.money import from_micros

ZERO = Decimal(0)


def to_decimal(value: Any) -> Decimal | None:
    """``value`` as a finite Decimal: Decimals pass, ints are exact, strings are parsed;
    None, NaN and NA give None. Floats are refused: money that went through a float is
    no longer exact, and this is where that would go unnoticed."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    if isinstance(value, bool):
        raise TypeError(f"not money: {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        return Decimal(value)
    if isinstance(value, float):
        if value != value:  # NaN: a missing value in a float column
            return None
        raise TypeError(f"money must not be a float: {value!r}")
    raise TypeError(f"not money: {value!r}")


def decimal_sum(values: Iterable[Any]) -> Decimal:
    """The exact sum of money values (missing ones count as nothing)."""
    total = ZERO
    for v in values:
        d = to_decimal(v)
        if d is not None:
            total += d
    return total


def dollars(micros: pd.Series) -> pd.Series:
    """Integer micro-dollars as exact ``Decimal`` dollars (an object column)."""
    return pd.Series(
        [from_micros(int(m)) for m in micros], index=micros.index, dtype=object, name=micros.name
    )


def decimals(values: pd.Series) -> pd.Series:
    """A column of money values (Decimal, int, decimal text) as Decimals, None if missing."""
    return pd.Series(
        [to_decimal(v) for v in values], index=values.index, dtype=object, name=values.name
    )


def rescale_micros(micros: int, numerator: int, denominator: int) -> int:
    """``micros x numerator / denominator``, rounded half to even to a micro-dollar."""
    if denominator <= 0:
        raise ValueError(f"denominator must be > 0, got {denominator}")
    q, r = divmod(micros * numerator, denominator)  # exact: integers only
    if 2 * r > denominator or (2 * r == denominator and q % 2):
        q += 1
    return q


def ratio(numerator: Decimal, denominator: Decimal) -> float | None:
    """``numerator / denominator`` as a float (a ratio, not money), None when undefined."""
    if denominator == 0:
        return None
    return float(numerator / denominator)


def floats(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with Decimal columns as floats (None as NaN), for plotting."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if column.dtype == object and any(isinstance(v, Decimal) for v in column):
            out[name] = [float(v) if isinstance(v, Decimal) else float("nan") for v in column]
    return out
