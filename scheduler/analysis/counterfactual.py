"""What the same attempts would have cost all on demand.

Each spot attempt is re-priced at the on-demand list price of the same cloud, region
and instance type, for the same charged time::

    counterfactual_micros = round_half_even(cost_micros x on_demand / list_price)

where ``list_price`` is the spot price per hour the attempt launched at (its
``list_price_micros_per_hour``) and ``on_demand`` the on-demand price per hour, from
the first of:

1. ``attempts``: the on-demand attempts of the same cloud, region and instance type
   (the list price they launched at, from the attempt nearest in time, so that list
   price changes are followed);
2. ``catalog``: a price table (:func:`local_price_table` of the local cloud's
   catalog, :func:`offering_price_table` of any cloud's offerings; the cheapest zone
   of the region when zones differ);
3. ``unknown``: no on-demand price anywhere; the attempt is counted at what it cost
   (no savings claimed) and reported.

On-demand attempts cost the same in both worlds (source ``on-demand``). The re-pricing
keeps everything else: a preempted spot attempt's lost work is re-priced too, although
an on-demand run would not have lost it, so the savings are slightly overstated when
spot attempts were preempted (the ``preempted`` column tells which). The comparison is
at list prices: discounts on the bill are in :mod:`scheduler.analysis.billing`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd

from adapters.base import Market, Offering
from adapters.local.catalog import InstanceType
from scheduler.analysis.money import dollars, rescale_micros
from solver.money import from_micros, to_micros

#: Columns of a price table.
PRICE_COLUMNS: tuple[str, ...] = (
    "cloud",
    "region",
    "instance_type",
    "market",
    "price_micros_per_hour",
)

#: Columns of :func:`counterfactual_on_demand`'s frame.
COUNTERFACTUAL_COLUMNS: tuple[str, ...] = (
    "attempt_id",
    "job_id",
    "cloud",
    "region",
    "instance_type",
    "market",
    "preempted",
    "list_price_micros_per_hour",
    "on_demand_micros_per_hour",
    "on_demand_source",
    "cost_micros",
    "counterfactual_micros",
    "savings_micros",
    "cost",
    "counterfactual",
    "savings",
)

ON_DEMAND = Market.ON_DEMAND.value
SPOT = Market.SPOT.value

_KEY = ["cloud", "region", "instance_type"]


def _price_table(rows: Iterable[tuple[str, str, str, str, Decimal]]) -> pd.DataFrame:
    records = [(c, r, t, m, to_micros(p)) for c, r, t, m, p in rows]
    frame = pd.DataFrame.from_records(records, columns=list(PRICE_COLUMNS))
    frame["price_micros_per_hour"] = frame["price_micros_per_hour"].astype("int64")
    # The cheapest zone of a region: the price the planner could have had there.
    cheapest = frame.groupby([*_KEY, "market"], sort=True)["price_micros_per_hour"].min()
    return cheapest.reset_index()


def local_price_table(types: Iterable[InstanceType], *, cloud: str = "local") -> pd.DataFrame:
    """A price table (:data:`PRICE_COLUMNS`) of the local cloud's catalog
    (:func:`adapters.local.catalog.build_catalog`): both markets of every type."""
    rows: list[tuple[str, str, str, str, Decimal]] = []
    for t in types:
        rows.append((cloud, t.region, t.name, ON_DEMAND, t.on_demand_price))
        rows.append((cloud, t.region, t.name, SPOT, t.spot_price))
    return _price_table(rows)


def offering_price_table(offerings: Iterable[Offering]) -> pd.DataFrame:
    """A price table (:data:`PRICE_COLUMNS`) of offerings (a service's catalog)."""
    return _price_table(
        (o.cloud, o.region, o.instance_type, o.market.value, o.price_per_hour) for o in offerings
    )


def _from_attempts(attempts: pd.DataFrame, spot: pd.DataFrame) -> pd.Series:
    """The on-demand list price of the nearest-in-time on-demand attempt of the same
    cloud/region/type, per spot attempt (0 where there is none)."""
    od = attempts[(attempts["market"] == ON_DEMAND) & (attempts["list_price_micros_per_hour"] > 0)]
    if od.empty or spot.empty:
        return pd.Series(0, index=spot.index, dtype="int64")
    right = od[[*_KEY, "created_at", "list_price_micros_per_hour"]].rename(
        columns={"list_price_micros_per_hour": "od_price"}
    )
    right = right.assign(created_at=pd.to_datetime(right["created_at"], utc=True))
    left = spot[[*_KEY, "created_at"]].assign(
        created_at=pd.to_datetime(spot["created_at"], utc=True), _row=spot.index
    )
    merged = pd.merge_asof(
        left.sort_values("created_at", kind="stable"),
        right.sort_values("created_at", kind="stable"),
        on="created_at",
        by=_KEY,
        direction="nearest",
    )
    prices = merged.set_index("_row")["od_price"].reindex(spot.index)
    return prices.fillna(0).astype("int64")


def _from_catalog(catalog: pd.DataFrame | None, spot: pd.DataFrame) -> pd.Series:
    if catalog is None or catalog.empty or spot.empty:
        return pd.Series(0, index=spot.index, dtype="int64")
    od = catalog[catalog["market"] == ON_DEMAND]
    table = {
        (str(c), str(r), str(t)): int(p)
        for c, r, t, p in zip(
            od["cloud"], od["region"], od["instance_type"], od["price_micros_per_hour"], strict=True
        )
    }
    return pd.Series(
        [
            table.get((str(c), str(r), str(t)), 0)
            for c, r, t in zip(spot["cloud"], spot["region"], spot["instance_type"], strict=True)
        ],
        index=spot.index,
        dtype="int64",
    )


def counterfactual_on_demand(
    attempts: pd.DataFrame, catalog: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Every attempt at its cost and at its all-on-demand cost (see the module
    docstring), :data:`COUNTERFACTUAL_COLUMNS`; micro-dollar columns are ints, the
    others (``cost``, ``counterfactual``, ``savings``) exact ``Decimal`` dollars.
    ``attempts`` is :meth:`HistoryStore.attempts_frame`, ``catalog`` a price table."""
    a = attempts.reset_index(drop=True)
    list_price = a["list_price_micros_per_hour"].astype("int64")
    cost = a["cost_micros"].astype("int64")
    is_spot = (a["market"] != ON_DEMAND) & (list_price > 0)
    spot = a[is_spot]
    from_attempts = _from_attempts(a, spot).reindex(a.index, fill_value=0)
    from_catalog = _from_catalog(catalog, spot).reindex(a.index, fill_value=0)

    on_demand = a["market"] == ON_DEMAND
    use_attempts = is_spot & (from_attempts > 0)
    use_catalog = is_spot & ~use_attempts & (from_catalog > 0)
    od_price = (
        list_price.where(on_demand, 0)
        .where(~use_attempts, from_attempts)
        .where(~use_catalog, from_catalog)
        .astype("int64")
    )
    source = pd.Series("unknown", index=a.index, dtype=object)
    source[on_demand] = "on-demand"
    source[use_attempts] = "attempts"
    source[use_catalog] = "catalog"
    repriced = source.isin(["attempts", "catalog"])
    counterfactual = pd.Series(
        [
            rescale_micros(int(c), int(o), int(p)) if r else int(c)
            for c, o, p, r in zip(cost, od_price, list_price, repriced, strict=True)
        ],
        index=a.index,
        dtype="int64",
    )
    out = pd.DataFrame(
        {
            "attempt_id": a["attempt_id"].astype(str),
            "job_id": a["job_id"].astype(str),
            "cloud": a["cloud"].astype(str),
            "region": a["region"].astype(str),
            "instance_type": a["instance_type"].astype(str),
            "market": a["market"].astype(str),
            "preempted": a["preempted"].astype(bool),
            "list_price_micros_per_hour": list_price,
            "on_demand_micros_per_hour": od_price,
            "on_demand_source": source.astype(str),
            "cost_micros": cost,
            "counterfactual_micros": counterfactual,
            "savings_micros": counterfactual - cost,
        },
        index=a.index,
    )
    out["cost"] = dollars(out["cost_micros"])
    out["counterfactual"] = dollars(out["counterfactual_micros"])
    out["savings"] = dollars(out["savings_micros"])
    return out[list(COUNTERFACTUAL_COLUMNS)]


@dataclass(frozen=True)
class Savings:
    """Totals of :func:`counterfactual_on_demand`, exact."""

    attempts: int
    spot_attempts: int
    #: Spot attempts with no on-demand price (counted at their cost).
    unpriced: int
    #: Spot attempts priced from on-demand attempts, and from the catalog.
    priced_from_attempts: int
    priced_from_catalog: int
    cost: Decimal
    counterfactual: Decimal
    spot_cost: Decimal
    spot_counterfactual: Decimal

    @property
    def savings(self) -> Decimal:
        return self.counterfactual - self.cost

    @property
    def savings_fraction(self) -> float | None:
        """Savings as a fraction of the all-on-demand cost (None when that is 0)."""
        return float(self.savings / self.counterfactual) if self.counterfactual else None


def savings(counterfactual: pd.DataFrame) -> Savings:
    """Sum a :func:`counterfactual_on_demand` frame."""
    spot = counterfactual[counterfactual["market"] != ON_DEMAND]
    source = spot["on_demand_source"]
    return Savings(
        attempts=len(counterfactual),
        spot_attempts=len(spot),
        unpriced=int((source == "unknown").sum()),
        priced_from_attempts=int((source == "attempts").sum()),
        priced_from_catalog=int((source == "catalog").sum()),
        cost=from_micros(int(counterfactual["cost_micros"].sum())),
        counterfactual=from_micros(int(counterfactual["counterfactual_micros"].sum())),
        spot_cost=from_micros(int(spot["cost_micros"].sum())),
        spot_counterfactual=from_micros(int(spot["counterfactual_micros"].sum())),
    )
