"""Effective price per offering: billed cost over list cost, shrunk toward the list price.

Evidence is per attempt: its billed usage hours ``H`` (``PricingQuantity`` when the
unit is hours, else the charge period's length), its billed ``EffectiveCost`` ``E``
(summed as ``Decimal``, then integer micro-dollars) and its cost at the catalog list
price ``L = list_price_micros_per_hour * H`` (the price when it launched, so that both
negotiated discounts and list price drift since the catalog was read show up; the
billed ``ListCost`` stands in when the attempt carries no catalog price).

Per level the observed ratio is ``sum(E) / sum(L)`` and its evidence ``sum(H)``; it is
shrunk toward the level above with credibility weights in pseudo-hours ``k``::

    cloud    (cloud/market)                 r_c = (H_c * obs_c + k_c * 1)   / (H_c + k_c)
    family   (cloud/region/family/market)   r_f = (H_f * obs_f + k_f * r_c) / (H_f + k_f)
    offering (cloud/region/type/market)     r_o = (H_o * obs_o + k_o * r_f) / (H_o + k_o)

each clamped to ``[price_ratio_min, price_ratio_max]``. An offering with no billing of
its own takes its family's ratio, then its cloud's, then 1 (the list price): an unseen
n2 shape in a region where other n2 shapes were billed 30% off gets most of the
discount.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from scheduler.costs.frames import rows
from scheduler.costs.keys import cloud_key, family_key, offering_key
from scheduler.costs.params import PriceRatio
from scheduler.costs.settings import RefitSettings
from scheduler.costs.shrinkage import clamp, credibility
from solver.money import to_micros

#: Columns of :func:`attempt_usage`'s frame.
USAGE_COLUMNS: tuple[str, ...] = (
    "attempt_id",
    "cloud",
    "region",
    "instance_type",
    "market",
    "ended_at",
    "hours",
    "effective_micros",
    "list_micros",
    "billed_micros",
    "billed_list_micros",
    "catalog_priced",
)


@dataclass
class _Sums:
    hours: float = 0.0
    effective: Decimal = Decimal(0)
    listed: Decimal = Decimal(0)
    billed: Decimal = Decimal(0)
    has_list: bool = False


def attempt_usage(attempts: pd.DataFrame, billing: pd.DataFrame) -> pd.DataFrame:
    """Billed usage per attempt (:data:`USAGE_COLUMNS`), from normalized frames.

    ``list_micros`` is the attempt's usage at its catalog list price (or its billed
    ``ListCost`` when it has no catalog price); ``billed_list_micros`` is the billed
    ``ListCost`` (-1 when the billing rows carry none); ``catalog_priced`` says whether
    ``list_micros`` came from the catalog price. Billing rows of attempts not in
    ``attempts`` are left out (:func:`unmatched_billing_rows` counts them).
    """
    sums: dict[str, _Sums] = {}
    for b in rows(billing):
        acc = sums.setdefault(str(b["attempt_id"]), _Sums())
        acc.hours += float(b["hours"])
        if b["EffectiveCost"] is not None:
            acc.effective += b["EffectiveCost"]
        if b["ListCost"] is not None:
            acc.listed += b["ListCost"]
            acc.has_list = True
        if b["BilledCost"] is not None:
            acc.billed += b["BilledCost"]
    out_rows = []
    for a in rows(attempts):
        s = sums.get(str(a["attempt_id"]))
        if s is None:
            continue
        price = int(a["list_price_micros_per_hour"])
        billed_list = to_micros(s.listed) if s.has_list else -1
        at_list = round(price * s.hours) if price > 0 else max(billed_list, 0)
        out_rows.append(
            (
                *(str(a[c]) for c in ("attempt_id", "cloud", "region", "instance_type", "market")),
                a["ended_at"],
                s.hours,
                to_micros(s.effective),
                at_list,
                to_micros(s.billed),
                billed_list,
                price > 0,
            )
        )
    out = pd.DataFrame(out_rows, columns=list(USAGE_COLUMNS))
    out["ended_at"] = pd.to_datetime(out["ended_at"], utc=True)
    for c in ("effective_micros", "list_micros", "billed_micros", "billed_list_micros"):
        out[c] = out[c].astype("int64")
    out["hours"] = out["hours"].astype("float64")
    out["catalog_priced"] = out["catalog_priced"].astype(bool)
    return out


def unmatched_billing_rows(attempts: pd.DataFrame, billing: pd.DataFrame) -> int:
    return int((~billing["attempt_id"].isin(attempts["attempt_id"])).sum())


@dataclass
class _Level:
    hours: float = 0.0
    effective: int = 0
    listed: int = 0


def fit_prices(usage: pd.DataFrame, knobs: RefitSettings) -> tuple[PriceRatio, ...]:
    """Price ratios at the offering, family and cloud levels (see the module docstring)."""
    levels: dict[str, dict[str, _Level]] = {"cloud": {}, "family": {}, "offering": {}}
    parent_of: dict[tuple[str, str], str] = {}
    usable = usage[(usage["hours"] > 0) & (usage["list_micros"] > 0)]
    for u in rows(usable.sort_values("attempt_id", kind="stable")):
        cloud, region, itype, market = (
            str(u["cloud"]),
            str(u["region"]),
            str(u["instance_type"]),
            str(u["market"]),
        )
        c = cloud_key(cloud, market)
        f = family_key(cloud, region, itype, market)
        o = offering_key(cloud, region, itype, market)
        parent_of[("family", f)] = c
        parent_of[("offering", o)] = f
        for level, key in (("cloud", c), ("family", f), ("offering", o)):
            acc = levels[level].setdefault(key, _Level())
            acc.hours += float(u["hours"])
            acc.effective += int(u["effective_micros"])
            acc.listed += int(u["list_micros"])

    ratio: dict[tuple[str, str], float] = {}
    out: list[PriceRatio] = []
    strength = {
        "cloud": knobs.price_prior_hours_cloud,
        "family": knobs.price_prior_hours_family,
        "offering": knobs.price_prior_hours_offering,
    }
    parent_level = {"family": "cloud", "offering": "family"}
    for level in ("cloud", "family", "offering"):
        for key in sorted(levels[level]):
            acc = levels[level][key]
            prior = (
                1.0 if level == "cloud" else ratio[(parent_level[level], parent_of[(level, key)])]
            )
            observed = acc.effective / acc.listed
            r = clamp(
                credibility(observed, acc.hours, prior, strength[level]),
                knobs.price_ratio_min,
                knobs.price_ratio_max,
            )
            ratio[(level, key)] = r
            out.append(
                PriceRatio(
                    level=level,
                    key=key,
                    hours=acc.hours,
                    effective_micros=acc.effective,
                    list_micros=acc.listed,
                    observed=observed,
                    ratio=r,
                )
            )
    return tuple(out)


def ratio_lookup(prices: tuple[PriceRatio, ...]) -> Callable[[str, str, str, str], float | None]:
    """``(cloud, region, instance_type, market) -> ratio`` from the finest level that has
    one, or None when no level does (the list price stands)."""
    table = {(p.level, p.key): p.ratio for p in prices}

    def lookup(cloud: str, region: str, instance_type: str, market: str) -> float | None:
        for level, key in (
            ("offering", offering_key(cloud, region, instance_type, market)),
            ("family", family_key(cloud, region, instance_type, market)),
            ("cloud", cloud_key(cloud, market)),
        ):
            r = table.get((level, key))
            if r is not None:
                return r
        return None

    return lookup
