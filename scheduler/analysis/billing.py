"""The bill against what skybatch computed, attempt by attempt.

skybatch prices an attempt when it ends: ``list price x (ended - launched)``
(``cost_micros``). The cloud bills the node-hours it counted at the price it really
charges (``BilledCost``; ``EffectiveCost`` with commitments and credits amortized,
``ListCost`` at its public price). The two differ by the hidden discount
(``effective / list``) and by the time each side counted (``billed_hours`` against
the hours skybatch charged).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from scheduler.analysis.money import ZERO, decimal_sum, dollars, ratio, to_decimal
from scheduler.costs.frames import HOUR_UNITS
from scheduler.costs.frames import rows as records

#: Columns of :func:`billed_vs_computed`'s frame.
BILLED_COLUMNS: tuple[str, ...] = (
    "attempt_id",
    "job_id",
    "cloud",
    "region",
    "instance_type",
    "market",
    "ended_at",
    "lines",
    "computed",
    "billed",
    "effective",
    "listed",
    "difference",
    "billed_over_computed",
    "effective_over_list",
    "computed_hours",
    "billed_hours",
)


@dataclass
class _Acc:
    lines: int = 0
    billed: Decimal = ZERO
    effective: Decimal = ZERO
    listed: Decimal = ZERO
    has_list: bool = False
    hours: float = 0.0


def _per_attempt(lines: pd.DataFrame) -> dict[str, _Acc]:
    acc: dict[str, _Acc] = {}
    matched = lines[lines["attempt_id"].notna()]
    for line in records(matched):
        a = acc.setdefault(str(line["attempt_id"]), _Acc())
        a.lines += 1
        a.billed += to_decimal(line["BilledCost"]) or ZERO
        a.effective += to_decimal(line["EffectiveCost"]) or ZERO
        listed = to_decimal(line["ListCost"])
        if listed is not None:
            a.listed += listed
            a.has_list = True
        unit = line["PricingUnit"]
        unit = unit.strip().lower() if isinstance(unit, str) else ""
        if unit in HOUR_UNITS and pd.notna(line["PricingQuantity"]):
            a.hours += float(line["PricingQuantity"])
    return acc


def billed_vs_computed(attempts: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    """One row per attempt that billing lines were matched to (:data:`BILLED_COLUMNS`),
    oldest first: ``computed`` (skybatch's cost), ``billed``, ``effective``, ``listed``
    (None when the lines carry no ``ListCost``), ``difference`` (billed - computed) as
    exact Decimals; ratios and hours as floats."""
    acc = _per_attempt(lines)
    billed = attempts[attempts["attempt_id"].isin(list(acc))].copy()
    billed = billed.sort_values(["created_at", "attempt_id"], kind="stable")
    computed = dollars(billed["cost_micros"].astype("int64"))
    price = billed["list_price_micros_per_hour"].astype("int64")
    rows = []
    for (_, a), c, p in zip(billed.iterrows(), computed, price, strict=True):
        s = acc[str(a["attempt_id"])]
        rows.append(
            (
                *(str(a[k]) for k in BILLED_COLUMNS[:6]),
                a["ended_at"],
                s.lines,
                c,
                s.billed,
                s.effective,
                s.listed if s.has_list else None,
                s.billed - c,
                ratio(s.billed, c),
                ratio(s.effective, s.listed) if s.has_list else None,
                int(a["cost_micros"]) / int(p) if p > 0 else None,
                s.hours,
            )
        )
    out = pd.DataFrame.from_records(rows, columns=list(BILLED_COLUMNS))
    out["ended_at"] = pd.to_datetime(out["ended_at"], utc=True)
    for name in ("computed", "billed", "effective", "listed", "difference"):
        out[name] = out[name].astype(object)
    for name in ("billed_over_computed", "effective_over_list", "computed_hours"):
        out[name] = out[name].astype("float64")
    return out


@dataclass(frozen=True)
class BillingSummary:
    """What the bill says overall, and how much of it skybatch can account for."""

    lines: int
    matched_lines: int
    #: Every line's ``BilledCost``; the matched lines' part; the rest.
    billed: Decimal
    matched_billed: Decimal
    unmatched_billed: Decimal
    #: Of the matched lines: ``EffectiveCost``; ``ListCost`` of those that give one,
    #: and their ``EffectiveCost``.
    matched_effective: Decimal
    matched_listed: Decimal
    matched_effective_of_listed: Decimal
    #: skybatch's cost of the attempts the matched lines pay for.
    computed: Decimal
    attempts_billed: int
    #: Attempts skybatch charged something for that no line pays for (yet).
    attempts_unbilled: int

    @property
    def billed_over_computed(self) -> float | None:
        return ratio(self.matched_billed, self.computed)

    @property
    def effective_over_list(self) -> float | None:
        return ratio(self.matched_effective_of_listed, self.matched_listed)


def billing_summary(attempts: pd.DataFrame, lines: pd.DataFrame) -> BillingSummary:
    """Totals of the bill (``lines``: :meth:`BillingStore.lines_frame`) against the
    attempts (:meth:`HistoryStore.attempts_frame`)."""
    matched = lines[lines["attempt_id"].notna()]
    unmatched = lines[lines["attempt_id"].isna()]
    listed = matched[matched["ListCost"].notna()]
    ids = set(matched["attempt_id"].astype(str))
    known = attempts[attempts["attempt_id"].isin(list(ids))]
    charged = attempts[(attempts["cost_micros"] > 0) & ~attempts["attempt_id"].isin(list(ids))]
    return BillingSummary(
        lines=len(lines),
        matched_lines=len(matched),
        billed=decimal_sum(lines["BilledCost"]),
        matched_billed=decimal_sum(matched["BilledCost"]),
        unmatched_billed=decimal_sum(unmatched["BilledCost"]),
        matched_effective=decimal_sum(matched["EffectiveCost"]),
        matched_listed=decimal_sum(listed["ListCost"]),
        matched_effective_of_listed=decimal_sum(listed["EffectiveCost"]),
        computed=decimal_sum(dollars(known["cost_micros"].astype("int64"))),
        attempts_billed=len(known),
        attempts_unbilled=len(charged),
    )
