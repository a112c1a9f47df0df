"""The input frames of a refit: their columns, and checks that give a clear error.

The store builds three frames (``attempts``, ``jobs``, ``billing``); the catalog
comes as :class:`~adapters.base.Offering` values. Each ``*_frame`` function checks
that the columns are there, normalizes dtypes (UTC times, ``Decimal`` money, plain
strings) and returns a new frame sorted by its natural key, so that every result is
the same whatever order the rows came in. Inputs are never modified.

``attempts`` (one row per launch attempt)
    ``attempt_id`` str (unique), ``job_id`` str, ``cloud``, ``region``, ``zone``,
    ``instance_type`` str, ``market`` str (``"on-demand"`` or ``"spot"``),
    ``list_price_micros_per_hour`` int (the catalog price when the attempt launched;
    0 when unknown), ``created_at``, ``started_at``, ``ended_at`` (timezone-aware
    datetimes, NaT when not reached), ``preempted`` bool, ``end_reason`` str,
    ``start_progress`` float (progress restored when the attempt started, 0..1),
    ``end_progress`` float.

``jobs`` (one row per job)
    ``job_id`` str (unique), ``tenant`` str, ``class_key`` str (the job's ``class``
    label, else its command line), ``estimated_runtime_s`` float, ``state`` str
    (``"SUCCEEDED"``, ``"FAILED"``, ...).

``billing`` (billed line items matched to attempts, typically one per hour)
    ``attempt_id`` str, ``ChargePeriodStart``, ``ChargePeriodEnd`` (timezone-aware
    datetimes), ``PricingQuantity`` float, ``PricingUnit`` str (``"Hours"`` when the
    quantity is hours), ``EffectiveCost``, ``ListCost``, ``BilledCost``
    (``decimal.Decimal``; ints, strings and floats are converted, missing values
    become None).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any, cast

import pandas as pd

from scheduler.costs.errors import FrameSchemaError

ATTEMPT_COLUMNS: tuple[str, ...] = (
    "attempt_id",
    "job_id",
    "cloud",
    "region",
    "zone",
    "instance_type",
    "market",
    "list_price_micros_per_hour",
    "created_at",
    "started_at",
    "ended_at",
    "preempted",
    "end_reason",
    "start_progress",
    "end_progress",
)
ATTEMPT_TIME_COLUMNS: tuple[str, ...] = ("created_at", "started_at", "ended_at")
_ATTEMPT_STR_COLUMNS: tuple[str, ...] = (
    "attempt_id",
    "job_id",
    "cloud",
    "region",
    "zone",
    "instance_type",
    "market",
    "end_reason",
)

JOB_COLUMNS: tuple[str, ...] = ("job_id", "tenant", "class_key", "estimated_runtime_s", "state")

BILLING_COLUMNS: tuple[str, ...] = (
    "attempt_id",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "PricingQuantity",
    "PricingUnit",
    "EffectiveCost",
    "ListCost",
    "BilledCost",
)
BILLING_TIME_COLUMNS: tuple[str, ...] = ("ChargePeriodStart", "ChargePeriodEnd")
BILLING_MONEY_COLUMNS: tuple[str, ...] = ("EffectiveCost", "ListCost", "BilledCost")

#: ``PricingUnit`` values (compared case-insensitively) whose quantity is hours; FOCUS
#: writes ``Hours``, the AWS CUR ``Hrs``.
HOUR_UNITS: frozenset[str] = frozenset({"hour", "hours", "hr", "hrs"})

MARKETS: frozenset[str] = frozenset({"on-demand", "spot"})
SUCCEEDED = "SUCCEEDED"


def require_columns(frame: pd.DataFrame, name: str, columns: Sequence[str]) -> None:
    """Raise :class:`FrameSchemaError` naming every column of ``columns`` ``frame`` lacks."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise FrameSchemaError(name, missing, f"missing column(s) {', '.join(missing)}")


def attempts_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A checked, normalized copy of ``attempts``, sorted by ``attempt_id``."""
    require_columns(frame, "attempts", ATTEMPT_COLUMNS)
    out = frame.loc[:, list(ATTEMPT_COLUMNS)].copy()
    for c in _ATTEMPT_STR_COLUMNS:
        out[c] = _strings(out[c])
    bad = sorted(set(out["market"]) - MARKETS)
    if bad:
        raise FrameSchemaError(
            "attempts", ["market"], f"market must be 'on-demand' or 'spot', got {bad}"
        )
    _unique(out, "attempts", "attempt_id")
    price = pd.to_numeric(out["list_price_micros_per_hour"], errors="coerce")
    out["list_price_micros_per_hour"] = price.fillna(0).round().astype("int64")
    for c in ATTEMPT_TIME_COLUMNS:
        out[c] = _utc(out[c], "attempts", c)
    out["preempted"] = out["preempted"].astype(object).fillna(False).astype(bool)
    start = pd.to_numeric(out["start_progress"], errors="coerce").astype("float64")
    out["start_progress"] = start.fillna(0.0).clip(0.0, 1.0)
    out["end_progress"] = pd.to_numeric(out["end_progress"], errors="coerce").astype("float64")
    return out.sort_values("attempt_id", kind="stable").reset_index(drop=True)


def jobs_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A checked, normalized copy of ``jobs``, sorted by ``job_id``."""
    require_columns(frame, "jobs", JOB_COLUMNS)
    out = frame.loc[:, list(JOB_COLUMNS)].copy()
    for c in ("job_id", "tenant", "class_key", "state"):
        out[c] = _strings(out[c])
    _unique(out, "jobs", "job_id")
    est = pd.to_numeric(out["estimated_runtime_s"], errors="coerce").astype("float64")
    out["estimated_runtime_s"] = est
    return out.sort_values("job_id", kind="stable").reset_index(drop=True)


def billing_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A checked, normalized copy of ``billing`` with an ``hours`` column (usage hours:
    ``PricingQuantity`` when ``PricingUnit`` is hours, else the charge period's length),
    sorted by attempt, charge period and quantity."""
    require_columns(frame, "billing", BILLING_COLUMNS)
    out = frame.loc[:, list(BILLING_COLUMNS)].copy()
    out["attempt_id"] = _strings(out["attempt_id"])
    out["PricingUnit"] = _strings(out["PricingUnit"])
    for c in BILLING_TIME_COLUMNS:
        out[c] = _utc(out[c], "billing", c)
    qty = pd.to_numeric(out["PricingQuantity"], errors="coerce").astype("float64")
    out["PricingQuantity"] = qty
    for c in BILLING_MONEY_COLUMNS:
        out[c] = pd.Series([_decimal(v, c) for v in out[c]], index=out.index, dtype=object)
    is_hours = out["PricingUnit"].str.strip().str.lower().isin(HOUR_UNITS)
    period_h = (out["ChargePeriodEnd"] - out["ChargePeriodStart"]).dt.total_seconds() / 3600.0
    hours = qty.where(is_hours, period_h).fillna(0.0).clip(lower=0.0)
    out["hours"] = hours.astype("float64")
    keys = ["attempt_id", "ChargePeriodStart", "ChargePeriodEnd", "PricingQuantity"]
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


def empty_attempts() -> pd.DataFrame:
    return attempts_frame(pd.DataFrame({c: [] for c in ATTEMPT_COLUMNS}))


def empty_jobs() -> pd.DataFrame:
    return jobs_frame(pd.DataFrame({c: [] for c in JOB_COLUMNS}))


def empty_billing() -> pd.DataFrame:
    return billing_frame(pd.DataFrame({c: [] for c in BILLING_COLUMNS}))


def rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The rows of ``frame`` as dicts; values are untyped, so callers convert them."""
    return cast(list[dict[str, Any]], frame.to_dict(orient="records"))


def _strings(s: pd.Series) -> pd.Series:
    return s.astype(object).where(s.notna(), "").astype(str)


def _unique(frame: pd.DataFrame, name: str, column: str) -> None:
    dup = frame[column][frame[column].duplicated()]
    if len(dup):
        shown = ", ".join(sorted(set(dup))[:5])
        raise FrameSchemaError(name, [column], f"duplicate {column}: {shown}")


def _utc(s: pd.Series, name: str, column: str) -> pd.Series:
    """UTC datetimes; naive times are refused rather than guessed."""
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        utc: pd.Series = s.dt.tz_convert("UTC")
        return utc
    if s.isna().all():
        return pd.Series(pd.NaT, index=s.index, dtype="datetime64[ns, UTC]")
    try:
        converted = pd.to_datetime(s)
    except (TypeError, ValueError) as e:
        raise FrameSchemaError(name, [column], f"{column} is not a datetime column: {e}") from e
    if not isinstance(converted.dtype, pd.DatetimeTZDtype):
        raise FrameSchemaError(name, [column], f"{column} must be timezone-aware (UTC)")
    return converted.dt.tz_convert("UTC")


def _decimal(value: Any, column: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, Decimal):
        return None if value.is_nan() else value
    if isinstance(value, float):
        return None if math.isnan(value) else Decimal(repr(value))
    if isinstance(value, bool):
        raise FrameSchemaError("billing", [column], f"{column} holds a bool: {value!r}")
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation as e:
            raise FrameSchemaError("billing", [column], f"{column}: not money: {value!r}") from e
    if value is pd.NA or value is pd.NaT:
        return None
    raise FrameSchemaError("billing", [column], f"{column}: not money: {value!r}")
