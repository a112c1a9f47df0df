"""From a chunk's mapped text columns to typed, checked columns: the checks every format shares.

A format reader (:mod:`~adapters.billing.focus`, :mod:`~adapters.billing.cur`) says,
for each frame column, which file columns feed it (several, in order of preference:
a CUR's EffectiveCost is ``lineItem/NetUnblendedCost``, else
``lineItem/UnblendedCost``) and which frame columns must not be null. This module
parses each file column once (so a bad cell read for two frame columns is reported
once, under the file's own column name), then checks:

- every cell of a money, quantity or timestamp column parses;
- no required column is null;
- no period ends before it starts (charge and billing periods);
- the currency is an ISO 4217 code, is USD, and is the same in every row of the file
  (:class:`CurrencyGuard` carries the first one seen from chunk to chunk).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from adapters.billing import values
from adapters.billing.currencies import ACCOUNTING_CURRENCY, ISO_4217_CODES
from adapters.billing.errors import Problems
from adapters.billing.frame import (
    DATA_COLUMNS,
    MONEY_COLUMNS,
    QUANTITY_COLUMNS,
    TAGS,
    TIMESTAMP_COLUMNS,
)
from adapters.billing.values import BoolArray, Cells, Column

#: (file column name, its text in this chunk), in order of preference.
Sources = tuple[tuple[str, pa.Array | pa.ChunkedArray], ...]

_PERIODS = (
    ("ChargePeriodStart", "ChargePeriodEnd"),
    ("BillingPeriodStart", "BillingPeriodEnd"),
)


@dataclass(frozen=True)
class Mapped:
    """One chunk as a format reader hands it over: for each frame column, the file
    columns it is read from (empty: null throughout), or a column the reader built
    itself (a CUR's tags); and the frame columns that must not be null."""

    rows: int
    first_row: int
    sources: Mapping[str, Sources]
    required: frozenset[str]
    built: Mapping[str, Column] = field(default_factory=dict)


@dataclass
class CurrencyGuard:
    """The file's currency as first seen (value, row), kept across chunks."""

    currency: str | None = None
    row: int | None = None


@dataclass(frozen=True)
class Parsed:
    """One chunk's frame columns, typed; meaningful only if no problem was reported."""

    rows: int
    first_row: int
    columns: Mapping[str, Column]


def parse(mapped: Mapped, problems: Problems, guard: CurrencyGuard) -> Parsed:
    cache: dict[tuple[str, str, int], Column] = {}
    columns: dict[str, Column] = {}
    for name in DATA_COLUMNS:
        if name in mapped.built:
            columns[name] = mapped.built[name]
            continue
        parsed = [
            _parse_source(name, label, text, mapped.first_row, problems, cache)
            for label, text in mapped.sources.get(name, ())
        ]
        columns[name] = _first_present(parsed) if parsed else _null_column(name, mapped.rows)
    for name in sorted(mapped.required):
        candidates = mapped.sources.get(name, ())
        # Name the last candidate: it is the one that had to have a value.
        label = candidates[-1][0] if candidates else name
        cells = Cells(label, mapped.first_row, problems)
        cells.report(columns[name].missing, lambda _: "is null (NULL or empty) but must not be")
    for start, end in _PERIODS:
        _check_order(columns, start, end, mapped, problems)
    _check_currency(columns["BillingCurrency"], mapped, problems, guard)
    return Parsed(mapped.rows, mapped.first_row, columns)


def _parse_source(
    name: str,
    label: str,
    text: pa.Array | pa.ChunkedArray,
    first_row: int,
    problems: Problems,
    cache: dict[tuple[str, str, int], Column],
) -> Column:
    kind = _kind(name)
    # The same file column feeds several frame columns (a CUR's UnblendedCost is
    # BilledCost and EffectiveCost's fallback): parse it, and report it, once.
    # A derived text (RegionId from the zone) is another object under the same label.
    key = (kind, label, id(text))
    if key not in cache:
        cells = Cells(label, first_row, problems)
        if kind == "money":
            cache[key] = values.decimals(text, cells)
        elif kind == "quantity":
            cache[key] = values.numbers(text, cells)
        elif kind == "timestamp":
            cache[key] = values.timestamps(text, cells)
        elif kind == "tags":
            cache[key] = values.tags(text, cells)
        else:
            cache[key] = values.strings(text)
    return cache[key]


def _kind(name: str) -> str:
    if name in MONEY_COLUMNS:
        return "money"
    if name in QUANTITY_COLUMNS:
        return "quantity"
    if name in TIMESTAMP_COLUMNS:
        return "timestamp"
    if name == TAGS:
        return "tags"
    return "text"


def _first_present(columns: list[Column]) -> Column:
    """Per row, the value of the first column that has one."""
    result = columns[0]
    for fallback in columns[1:]:
        take = result.missing & ~fallback.missing
        merged = result.values.copy()
        merged[take] = fallback.values[take]
        result = Column(merged, result.missing & fallback.missing)
    return result


def _null_column(name: str, rows: int) -> Column:
    kind = _kind(name)
    missing = np.ones(rows, dtype=np.bool_)
    if kind == "timestamp":
        return Column(np.full(rows, np.datetime64("NaT", "ns")), missing)
    if kind == "quantity":
        return Column(np.full(rows, np.nan), missing)
    if kind == "tags":
        empty = np.empty(rows, dtype=object)
        empty[:] = [{} for _ in range(rows)]
        return Column(empty, missing)
    return Column(np.full(rows, None, dtype=object), missing)


def _check_order(
    columns: Mapping[str, Column], start: str, end: str, mapped: Mapped, problems: Problems
) -> None:
    begins = columns[start].values
    ends = columns[end].values
    bad: BoolArray = (ends < begins) & ~np.isnat(ends) & ~np.isnat(begins)  # type: ignore[operator]
    label = _label(mapped, end)
    Cells(label, mapped.first_row, problems).report(
        bad,
        lambda i: f"{_iso(ends[i])} is before {_label(mapped, start)} {_iso(begins[i])}",
    )


def _check_currency(
    column: Column, mapped: Mapped, problems: Problems, guard: CurrencyGuard
) -> None:
    label = _label(mapped, "BillingCurrency")
    present = np.flatnonzero(~column.missing)
    if guard.currency is None and len(present):
        first = int(present[0])
        guard.currency = str(column.values[first])
        guard.row = mapped.first_row + first
    cells = Cells(label, mapped.first_row, problems)
    for code in set(column.values[present].tolist()):
        rows: BoolArray = column.values == code
        for message in _currency_problems(str(code), guard):
            cells.report(rows, _constant(message))


def _currency_problems(code: str, guard: CurrencyGuard) -> list[str]:
    found = []
    if code not in ISO_4217_CODES:
        found.append(f"{code!r} is not an ISO 4217 currency code")
    elif code != ACCOUNTING_CURRENCY:
        found.append(
            f"{code!r}: skybatch accounts in {ACCOUNTING_CURRENCY} only and converts no currency"
        )
    if code != guard.currency:
        found.append(
            f"{code!r} differs from {guard.currency!r} in row {guard.row}: "
            "a bill must be in one currency"
        )
    return found


def _constant(message: str) -> Callable[[int], str]:
    return lambda _: message


def _label(mapped: Mapped, name: str) -> str:
    candidates = mapped.sources.get(name, ())
    return candidates[0][0] if candidates else name


def _iso(value: np.datetime64) -> str:
    return str(np.datetime_as_string(value, unit="s", timezone="UTC"))
