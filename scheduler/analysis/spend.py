"""Spend as frames: one row per attempt (what skybatch computed) or per billed line
(what the cloud charged), grouped over time by any attribute.

Both spend frames have the columns of :data:`SPEND_COLUMNS` plus one ``label:<key>``
column per job label key, so that :func:`spend_by` groups either by ``cloud``,
``region``, ``tenant``, ``market``, ``label:team``, ... Money is ``Decimal`` dollars.

Time: an attempt's spend is counted when it ended (its cost is final then; an attempt
still running counts at its start, or its creation, with what it cost so far: nothing,
as the store prices an attempt when it ends). A billed line counts at its
``ChargePeriodStart`` (hourly lines: the hour it charges for).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from decimal import Decimal

import pandas as pd

from scheduler.analysis.money import ZERO, decimal_sum, decimals, dollars, to_decimal
from scheduler.costs.frames import HOUR_UNITS
from scheduler.costs.frames import rows as records

#: Columns every spend frame has (``label:<key>`` columns follow).
SPEND_COLUMNS: tuple[str, ...] = (
    "at",
    "cost",
    "hours",
    "attempt_id",
    "job_id",
    "tenant",
    "cloud",
    "region",
    "instance_type",
    "market",
)

#: The value of a group attribute that is not known (an unlabelled job, an unmatched line).
NONE = "(none)"

LABEL_PREFIX = "label:"

_PLACE = ("cloud", "region", "instance_type", "market")


def label_columns(labels: pd.DataFrame) -> pd.DataFrame:
    """Job labels (rows ``job_id, key, value``) as one ``label:<key>`` column per key,
    indexed by ``job_id``; columns sorted by key."""
    if labels.empty:
        return pd.DataFrame(index=pd.Index([], name="job_id", dtype=str))
    wide = labels.pivot_table(index="job_id", columns="key", values="value", aggfunc="first")
    wide = wide.reindex(columns=sorted(wide.columns))
    wide.columns = pd.Index([f"{LABEL_PREFIX}{k}" for k in wide.columns])
    return wide.astype(object)


def _with_jobs(frame: pd.DataFrame, jobs: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (with a ``job_id`` column) plus its job's ``tenant`` and labels."""
    tenants = jobs.set_index("job_id")["tenant"] if len(jobs) else pd.Series(dtype=object)
    out = frame.copy()
    out["tenant"] = [tenants.get(j, NONE) if j != NONE else NONE for j in out["job_id"]]
    wide = label_columns(labels)
    for name in wide.columns:
        column = wide[name]
        values = [column.get(j) for j in out["job_id"]]
        out[name] = [NONE if v is None or pd.isna(v) else str(v) for v in values]
    return out


def _at(attempts: pd.DataFrame) -> pd.Series:
    at = attempts["ended_at"].fillna(attempts["started_at"]).fillna(attempts["created_at"])
    return pd.to_datetime(at, utc=True)


def attempt_spend(attempts: pd.DataFrame, jobs: pd.DataFrame, labels: pd.DataFrame) -> pd.DataFrame:
    """What skybatch computed, one row per attempt (frames of :mod:`scheduler.store.
    history`, labels of :class:`~scheduler.analysis.load.StoreFrames`). ``hours`` are
    the hours charged: ``cost_micros / list_price_micros_per_hour``."""
    price = attempts["list_price_micros_per_hour"].astype("int64")
    cost = attempts["cost_micros"].astype("int64")
    hours = (cost / price.where(price > 0)).fillna(0.0).astype("float64")
    base = pd.DataFrame(
        {
            "at": _at(attempts),
            "cost": dollars(cost),
            "hours": hours,
            **{c: attempts[c].astype(str) for c in SPEND_COLUMNS[3:] if c != "tenant"},
        },
        index=attempts.index,
    )
    out = _with_jobs(base, jobs, labels)
    return _ordered(out).reset_index(drop=True)


def billed_spend(
    lines: pd.DataFrame, attempts: pd.DataFrame, jobs: pd.DataFrame, labels: pd.DataFrame
) -> pd.DataFrame:
    """What the clouds billed, one row per line item (``BilledCost``). A line matched
    to an attempt takes the attempt's cloud, region, instance type, market, job and
    tenant; an unmatched one its own provider, region and instance type, and
    :data:`NONE` for the rest."""
    by_id = {str(a["attempt_id"]): a for a in records(attempts)}
    rows: list[dict[str, object]] = []
    for line in records(lines):
        attempt_id = line["attempt_id"] if isinstance(line["attempt_id"], str) else None
        unit = _text(line["PricingUnit"]).strip().lower()
        quantity = line["PricingQuantity"]
        hours = float(quantity) if unit in HOUR_UNITS and pd.notna(quantity) else 0.0
        row: dict[str, object] = {"at": line["ChargePeriodStart"], "hours": hours}
        a = by_id.get(attempt_id) if attempt_id is not None else None
        if a is not None:
            row.update({k: str(a[k]) for k in ("job_id", *_PLACE)}, attempt_id=attempt_id)
        else:
            row.update(
                attempt_id=attempt_id or NONE,
                job_id=NONE,
                cloud=_text(line["provider"]),
                region=_text(line["region"]),
                instance_type=_text(line["instance_type"]),
                market=NONE,
            )
        rows.append(row)
    base = pd.DataFrame(rows, columns=[c for c in SPEND_COLUMNS if c not in ("cost", "tenant")])
    base["at"] = pd.to_datetime(base["at"], utc=True)
    base["hours"] = base["hours"].astype("float64")
    base["cost"] = decimals(lines["BilledCost"].reset_index(drop=True))
    out = _with_jobs(base, jobs, labels)
    return _ordered(out).reset_index(drop=True)


def _text(value: object) -> str:
    """A line's text field, :data:`NONE` when missing (None, NaN, empty)."""
    if value is None or (isinstance(value, float) and value != value) or value == "":
        return NONE
    return str(value)


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    rest = sorted(c for c in frame.columns if c not in SPEND_COLUMNS)
    return frame[[*SPEND_COLUMNS, *rest]]


def group_key(frame: pd.DataFrame, by: str | Sequence[str]) -> pd.Series:
    """The values of ``by`` (one column, or several joined by ``/``) as strings."""
    keys = [by] if isinstance(by, str) else list(by)
    if not keys:
        raise ValueError("group by at least one column")
    missing = [k for k in keys if k not in frame.columns]
    if missing:
        raise KeyError(f"no column(s) {missing} (have {list(frame.columns)})")
    parts = [frame[k].astype(object).where(frame[k].notna(), NONE).astype(str) for k in keys]
    key = parts[0]
    for p in parts[1:]:
        key = key + "/" + p
    return key


def spend_by(
    frame: pd.DataFrame,
    by: str | Sequence[str],
    *,
    freq: str = "h",
    time: str = "at",
    cost: str = "cost",
) -> pd.DataFrame:
    """Spend per period and group: one row per ``freq`` period (a fixed frequency such
    as ``"min"``, ``"h"``, ``"D"``; every period from the first to the last, empty ones
    included), one column per value of ``by`` (sorted), exact ``Decimal`` sums (0 where
    nothing was spent). The index is the periods' UTC start, named ``period``."""
    key = group_key(frame, by) if len(frame) else pd.Series(dtype=str)
    if frame.empty:
        return pd.DataFrame(index=pd.DatetimeIndex([], tz="UTC", name="period"))
    period = pd.to_datetime(frame[time], utc=True).dt.floor(freq)
    sums: dict[tuple[pd.Timestamp, str], Decimal] = {}
    for p, g, c in zip(period, key, frame[cost], strict=True):
        sums[(p, g)] = sums.get((p, g), ZERO) + (to_decimal(c) or ZERO)
    periods = pd.date_range(period.min(), period.max(), freq=freq, name="period")
    groups = sorted(set(key))
    table = {g: [sums.get((p, g), ZERO) for p in periods] for g in groups}
    return pd.DataFrame(table, index=periods, columns=groups, dtype=object)


def totals_by(frame: pd.DataFrame, by: str | Sequence[str], *, cost: str = "cost") -> pd.Series:
    """Total spend per value of ``by``, exact, largest first (ties by name)."""
    if frame.empty:
        return pd.Series(dtype=object, name=cost)
    key = group_key(frame, by)
    sums: dict[str, Decimal] = {}
    for g, c in zip(key, frame[cost], strict=True):
        sums[g] = sums.get(g, ZERO) + (to_decimal(c) or ZERO)
    ranked = sorted(sums.items(), key=lambda kv: (-kv[1], kv[0]))
    return pd.Series(dict(ranked), dtype=object, name=cost)


def auto_freq(times: pd.Series, *, max_periods: int = 60) -> str:
    """The finest of ``min``, ``5min``, ``h``, ``D``, ``7D`` that covers ``times`` in at
    most ``max_periods`` periods (``h`` when there are no times)."""
    t = pd.to_datetime(times, utc=True).dropna()
    if t.empty:
        return "h"
    span = t.max() - t.min()
    for freq, step in (
        ("min", timedelta(minutes=1)),
        ("5min", timedelta(minutes=5)),
        ("h", timedelta(hours=1)),
        ("D", timedelta(days=1)),
    ):
        if span <= step * (max_periods - 1):
            return freq
    return "7D"


def market_share(spend: pd.DataFrame) -> pd.DataFrame:
    """Spend and hours per market (``on-demand``, ``spot``, ...) with their shares of
    the total: columns ``items, hours, cost, cost_share, hours_share``; shares are
    floats (fractions), ``cost`` is exact."""
    columns = ["items", "hours", "cost", "cost_share", "hours_share"]
    if spend.empty:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="market"))
    total = decimal_sum(spend["cost"])
    total_hours = float(spend["hours"].sum())
    rows = []
    for market, group in spend.groupby("market", sort=True):
        cost = decimal_sum(group["cost"])
        hours = float(group["hours"].sum())
        rows.append(
            (
                str(market),
                len(group),
                hours,
                cost,
                float(cost / total) if total else None,
                hours / total_hours if total_hours else None,
            )
        )
    out = pd.DataFrame.from_records(rows, columns=["market", *columns]).set_index("market")
    out["cost"] = out["cost"].astype(object)
    return out


#: The column :func:`top_columns` gathers the smaller groups into.
OTHER = "(other)"


def top_columns(table: pd.DataFrame, n: int = 8) -> pd.DataFrame:
    """A :func:`spend_by` table with its ``n`` costliest columns (largest total first)
    and the rest summed, exactly, into one :data:`OTHER` column (when there is a rest)."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    if len(table.columns) <= n:
        return table
    totals = {c: decimal_sum(table[c]) for c in table.columns}
    ranked = sorted(table.columns, key=lambda c: (-totals[c], str(c)))
    keep, rest = ranked[:n], ranked[n:]
    out = table[keep].copy()
    rest_sums = [decimal_sum(row) for row in table[rest].itertuples(index=False)]
    out[OTHER] = pd.Series(rest_sums, index=table.index, dtype=object)
    return out
