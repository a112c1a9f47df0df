"""Text to typed values, a column at a time, reporting every cell that does not parse.

Bills repeat themselves (one currency, one billing period, a few hundred distinct
hours, many identical costs), so each column is dictionary-encoded first and only
its distinct values are parsed; rows then pick their value by index. The checks are
Arrow kernels (RE2) over the distinct values; Python runs once per distinct value
(``Decimal(text)``, ``json.loads``), never once per cell of a repetitive column.

Money is ``decimal.Decimal`` built from the text itself, so ``0.00000080000`` stays
exactly that; it never passes through a float. Quantities are float64 (the frame's
contract). Timestamps follow ISO 8601 (``2024-09-18 22:00:00``, ``...T22:00:00Z``,
``...+02:00``); one without an offset is UTC, as FOCUS says. A value that parses
but does not fit ``datetime64[ns]`` (before 1677 or after 2262) is refused too.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from adapters.billing.errors import Problems

#: A plain decimal number: sign, digits, optional fraction and exponent. No
#: thousands separators, no NaN or Infinity (``Decimal`` would accept those).
DECIMAL_PATTERN = r"^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$"

_NS_MIN = np.datetime64(pd.Timestamp.min.as_unit("ns").value, "ns")
_NS_MAX = np.datetime64(pd.Timestamp.max.as_unit("ns").value, "ns")
_SHOWN_CHARS = 60

BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Column:
    """One parsed column of a chunk. ``values`` is an object array (str, Decimal, dict,
    None), datetime64[ns] (UTC, NaT) or float64 (NaN); ``missing`` marks cells that
    were null in the file. A cell that failed to parse is reported, not missing."""

    values: npt.NDArray[np.generic]
    missing: BoolArray


@dataclass(frozen=True)
class Encoded:
    """A text column as distinct values and, per row, the index of its value
    (``-1`` for null)."""

    index: npt.NDArray[np.int64]
    distinct: pa.Array

    @classmethod
    def of(cls, text: pa.Array | pa.ChunkedArray) -> Encoded:
        if isinstance(text, pa.ChunkedArray):
            # One contiguous copy of this column only, dropped on return: encoding
            # block by block and unifying the dictionaries is ten times slower on
            # columns with many distinct values (costs).
            text = text.combine_chunks()
        encoded = pc.dictionary_encode(text)
        index = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        return cls(index.astype(np.int64, copy=False), encoded.dictionary)

    @property
    def missing(self) -> BoolArray:
        return self.index < 0

    def take(self, per_value: npt.NDArray[np.generic], null: object) -> npt.NDArray[np.generic]:
        """Spread one value per distinct value over the rows; ``null`` where missing."""
        table = np.empty(len(per_value) + 1, dtype=per_value.dtype)
        table[:-1] = per_value
        table[-1] = null
        return table[self.index]

    def text(self, row: int) -> str:
        """The text of one row, shortened for a message."""
        value = str(self.distinct[int(self.index[row])].as_py())
        return repr(value if len(value) <= _SHOWN_CHARS else value[:_SHOWN_CHARS] + "...")


@dataclass(frozen=True)
class Cells:
    """Where parsed values go wrong: the column as the file names it, the chunk's
    first row, and the problem collector."""

    label: str
    first_row: int
    problems: Problems

    def report(self, bad: BoolArray, describe: Callable[[int], str]) -> None:
        if bad.any():
            self.problems.add_rows(self.label, bad, self.first_row, describe)


def strings(text: pa.Array | pa.ChunkedArray) -> Column:
    enc = Encoded.of(text)
    distinct = np.array(enc.distinct.to_pylist(), dtype=object)
    return Column(enc.take(distinct, None), enc.missing)


def decimals(text: pa.Array | pa.ChunkedArray, cells: Cells) -> Column:
    enc = Encoded.of(text)
    ok = _matches(enc.distinct, DECIMAL_PATTERN)
    parsed = np.array(
        [
            Decimal(v) if good else None
            for v, good in zip(enc.distinct.to_pylist(), ok, strict=True)
        ],
        dtype=object,
    )
    _report_bad(enc, ok, cells, "is not a decimal number")
    return Column(enc.take(parsed, None), enc.missing)


def numbers(text: pa.Array | pa.ChunkedArray, cells: Cells) -> Column:
    enc = Encoded.of(text)
    ok = _matches(enc.distinct, DECIMAL_PATTERN)
    parsed = np.array(
        [
            float(v) if good else np.nan
            for v, good in zip(enc.distinct.to_pylist(), ok, strict=True)
        ],
        dtype=np.float64,
    )
    _report_bad(enc, ok, cells, "is not a number")
    return Column(enc.take(parsed, np.nan), enc.missing)


def timestamps(text: pa.Array | pa.ChunkedArray, cells: Cells) -> Column:
    enc = Encoded.of(text)
    parsed = pd.to_datetime(
        pd.Index(enc.distinct.to_pylist(), dtype=object),
        utc=True,
        format="ISO8601",
        errors="coerce",
    )
    naive = parsed.tz_localize(None).to_numpy()
    ok = ~np.isnat(naive)
    if naive.dtype != np.dtype("datetime64[ns]"):
        ok &= (naive >= _NS_MIN) & (naive <= _NS_MAX)
        naive = np.where(ok, naive, np.datetime64("NaT")).astype("datetime64[ns]")
    _report_bad(enc, ok, cells, "is not an ISO 8601 date/time (or is out of range)")
    return Column(enc.take(naive, np.datetime64("NaT", "ns")), enc.missing)


def tags(text: pa.Array | pa.ChunkedArray, cells: Cells) -> Column:
    """FOCUS ``Tags``: a JSON object per row, as ``dict[str, str]`` (``{}`` for null).
    Values that are not strings become ``str(value)``; a JSON null becomes ``""``."""
    enc = Encoded.of(text)
    parsed: list[dict[str, str] | None] = [_tag_object(v) for v in enc.distinct.to_pylist()]
    ok = np.array([p is not None for p in parsed], dtype=np.bool_)
    _report_bad(enc, ok, cells, "is not a JSON object")
    rows = np.empty(len(enc.index), dtype=object)
    # Each row gets its own dict: rows sharing one would change together.
    rows[:] = [dict(parsed[i] or {}) if i >= 0 else {} for i in enc.index.tolist()]
    return Column(rows, enc.missing)


def tag_value(value: object) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _tag_object(text: str) -> dict[str, str] | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, dict):
        return None
    return {str(k): tag_value(v) for k, v in value.items()}


def _matches(distinct: pa.Array, pattern: str) -> BoolArray:
    return np.asarray(
        pc.match_substring_regex(distinct, pattern).to_numpy(zero_copy_only=False), dtype=np.bool_
    )


def _report_bad(enc: Encoded, ok: BoolArray, cells: Cells, what: str) -> None:
    if ok.all():
        return
    ok_row = np.append(ok, True)[enc.index]  # index -1 (null) picks the appended True
    cells.report(~ok_row, lambda i: f"{enc.text(i)} {what}")
