"""Money columns stay exact: Decimals, integer rescaling, floats only for plots."""

from __future__ import annotations

import math
from decimal import Decimal

import pandas as pd
import pytest

from scheduler.analysis.money import (
    decimal_sum,
    decimals,
    dollars,
    floats,
    rescale_micros,
    to_decimal,
)


def test_decimal_sum_is_exact_where_floats_are_not() -> None:
    values = [Decimal("0.1")] * 10
    assert decimal_sum(values) == Decimal("1.0")
    assert sum(float(v) for v in values) != 1.0
    assert decimal_sum(["0.000000000001", 2, None, float("nan")]) == Decimal("2.000000000001")


def test_floats_are_refused_as_money() -> None:
    with pytest.raises(TypeError, match="float"):
        to_decimal(0.1)
    with pytest.raises(TypeError):
        to_decimal(True)
    assert to_decimal(float("nan")) is None
    assert to_decimal(pd.NA) is None


def test_dollars_and_decimals_keep_the_index() -> None:
    micros = pd.Series([1, 1_500_000], index=[7, 9], name="cost_micros")
    d = dollars(micros)
    assert list(d) == [Decimal("0.000001"), Decimal("1.500000")]
    assert list(d.index) == [7, 9] and d.dtype == object
    text = decimals(pd.Series(["0.1", None, Decimal("2")]))
    assert list(text) == [Decimal("0.1"), None, Decimal(2)]


@pytest.mark.parametrize(
    ("micros", "num", "den", "expected"),
    [
        (10, 3, 2, 15),
        (5, 1, 2, 2),  # 2.5 -> 2 (half to even)
        (7, 1, 2, 4),  # 3.5 -> 4
        (10, 1, 3, 3),
        (20, 1, 3, 7),
        (-5, 1, 2, -2),
        (10**15, 67011, 14108, round(Decimal(10**15 * 67011) / 14108)),
    ],
)
def test_rescale_micros_rounds_half_to_even(micros: int, num: int, den: int, expected: int) -> None:
    assert rescale_micros(micros, num, den) == expected


def test_rescale_refuses_a_zero_denominator() -> None:
    with pytest.raises(ValueError):
        rescale_micros(1, 1, 0)


def test_floats_converts_only_money_columns() -> None:
    frame = pd.DataFrame({"cost": [Decimal("1.25"), None], "name": ["a", "b"], "n": [1, 2]})
    out = floats(frame)
    assert out["cost"].iloc[0] == 1.25 and math.isnan(out["cost"].iloc[1])
    assert list(out["name"]) == ["a", "b"] and list(out["n"]) == [1, 2]
    assert frame["cost"].iloc[0] == Decimal("1.25"), "the input is not modified"
