"""Reading a bill: the whole file checked and summed (:func:`summarize_bill`), or its rows as
frames (:func:`iter_bill`, :func:`read_bill`).

A file is refused whole or read whole. :func:`iter_bill` checks each chunk before
yielding it, but a problem in a later chunk (a bad cell, a second currency) is only
found when that chunk is read, after earlier chunks were yielded. So a caller that
stores what it reads runs :func:`summarize_bill` first (one streaming pass, nothing
kept, every problem of the file reported) and stores only if it succeeds, or stores
inside a transaction it rolls back on :class:`BillingFileError`. :func:`read_bill`
returns only once the whole file has been read and checked.
"""

from __future__ import annotations

import decimal
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from adapters.billing.errors import BillingFileError, Problems, file_error
from adapters.billing.formats import BillFormat, Layout, detect_layout, layout_format
from adapters.billing.frame import to_frame
from adapters.billing.row_keys import RowKeys
from adapters.billing.sources import BillSource, open_source
from adapters.billing.validate import CurrencyGuard, Parsed, parse
from adapters.billing.values import Column

DEFAULT_CHUNK_ROWS = 200_000

# Sums are exact: far more digits than any bill has, and rounding is an error.
_SUM_CONTEXT = decimal.Context(
    prec=200,
    Emax=decimal.MAX_EMAX,
    Emin=decimal.MIN_EMIN,
    traps=[decimal.Inexact, decimal.InvalidOperation, decimal.Overflow],
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class BillSummary:
    """A whole bill, checked: its format, row count, currency, the span of its charge
    periods and its totals (exact)."""

    format: BillFormat
    rows: int
    currency: str
    charge_period_start: datetime  # the earliest ChargePeriodStart (UTC)
    charge_period_end: datetime  # the latest ChargePeriodEnd (UTC)
    billed_cost: Decimal
    effective_cost: Decimal


def bill_format(path: str | os.PathLike[str]) -> BillFormat:
    """What ``path`` is, from its column names; reads no rows. Raises
    :class:`BillingFileError` if it is none of the formats, or lacks mandatory columns."""
    source = open_source(path)
    return layout_format(detect_layout(source.path, source.columns))


def iter_bill(
    path: str | os.PathLike[str], *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> Iterator[pd.DataFrame]:
    """The bill's rows as frames of ``chunk_rows`` rows (the last one shorter), each
    checked before it is yielded (see the module docstring about later chunks).

    The file is opened and its format checked now; rows are read as the iterator is
    consumed. Raises :class:`BillingFileError`.
    """
    _check_chunk_rows(chunk_rows)
    source = open_source(path)
    layout = detect_layout(source.path, source.columns)
    return _frames(source, layout, chunk_rows)


def read_bill(
    path: str | os.PathLike[str], *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> pd.DataFrame:
    """The whole bill as one frame, or :class:`BillingFileError`."""
    frames = list(iter_bill(path, chunk_rows=chunk_rows))
    return frames[0] if len(frames) == 1 else pd.concat(frames)


def summarize_bill(
    path: str | os.PathLike[str], *, chunk_rows: int = DEFAULT_CHUNK_ROWS
) -> BillSummary:
    """Read the whole bill once, check every row, and sum it; keeps no rows. Every
    problem in the file is reported (up to the cap in :mod:`adapters.billing.errors`),
    not only the first chunk's."""
    _check_chunk_rows(chunk_rows)
    source = open_source(path)
    layout = detect_layout(source.path, source.columns)
    problems = Problems(source.path)
    guard = CurrencyGuard()
    rows = 0
    first_start: np.datetime64 | None = None
    last_end: np.datetime64 | None = None
    billed = effective = Decimal(0)
    try:
        for chunk in source.chunks(chunk_rows):
            parsed = parse(layout.map(chunk, problems), problems, guard)
            rows += parsed.rows
            if problems:
                continue  # the sums no longer matter, the remaining problems do
            start = parsed.columns["ChargePeriodStart"].values.min()
            end = parsed.columns["ChargePeriodEnd"].values.max()
            first_start = start if first_start is None else min(first_start, start)
            last_end = end if last_end is None else max(last_end, end)
            billed = _add(billed, parsed.columns["BilledCost"], "BilledCost", source)
            effective = _add(effective, parsed.columns["EffectiveCost"], "EffectiveCost", source)
            del chunk, parsed  # not alive while the next chunk is read
    except BillingFileError as exc:
        # A row that cannot be parsed at all ends the reading; report it with the
        # problems already found.
        for problem in exc.problems:
            problems.add(problem.column, problem.row, problem.message)
        raise problems.error() from None
    problems.raise_if_any()
    if rows == 0 or first_start is None or last_end is None or guard.currency is None:
        raise _no_rows(source)
    return BillSummary(
        format=layout_format(layout),
        rows=rows,
        currency=guard.currency,
        charge_period_start=_utc(first_start),
        charge_period_end=_utc(last_end),
        billed_cost=billed,
        effective_cost=effective,
    )


def _frames(source: BillSource, layout: Layout, chunk_rows: int) -> Iterator[pd.DataFrame]:
    guard = CurrencyGuard()
    keys = RowKeys(source.columns)
    rows = 0
    for chunk in source.chunks(chunk_rows):
        problems = Problems(source.path)
        parsed: Parsed = parse(layout.map(chunk, problems), problems, guard)
        problems.raise_if_any()
        source_rows = np.arange(chunk.first_row, chunk.first_row + chunk.num_rows, dtype=np.int64)
        frame = to_frame(parsed.columns, source_rows, keys.keys(chunk.table), rows)
        rows += chunk.num_rows
        del chunk, parsed  # not alive while the next chunk is read
        yield frame
        del frame
    if rows == 0:
        raise _no_rows(source)


def _add(total: Decimal, column: Column, name: str, source: BillSource) -> Decimal:
    try:
        with decimal.localcontext(_SUM_CONTEXT):
            return sum(column.values.tolist(), total)
    except decimal.DecimalException as exc:
        # Only absurd values get here (1e999999 next to 0.01): refuse, never round.
        raise file_error(
            source.path,
            f"the total cannot be kept exact in {_SUM_CONTEXT.prec} digits ({type(exc).__name__})",
            column=name,
        ) from None


def _utc(value: np.datetime64) -> datetime:
    nanoseconds = int(value.astype("datetime64[ns]").astype(np.int64))
    return _EPOCH + timedelta(microseconds=nanoseconds // 1000)


def _check_chunk_rows(chunk_rows: int) -> None:
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows must be at least 1, not {chunk_rows}")


def _no_rows(source: BillSource) -> BillingFileError:
    return file_error(source.path, "has a header but no data rows")
