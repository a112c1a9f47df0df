"""All on demand: spot attempts re-priced at the on-demand list price."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from adapters.local.catalog import InstanceType
from scheduler.analysis.counterfactual import (
    counterfactual_on_demand,
    local_price_table,
    offering_price_table,
    savings,
)
from tests.unit.scheduler.analysis.synth import T0, Store
from tests.unit.scheduler.costs.synth import offering


def local_type(name: str, region: str, on_demand: str, spot: str) -> InstanceType:
    return InstanceType(
        name=name,
        region=region,
        zone=f"{region}-a",
        vcpus=2,
        memory_gib=Decimal(8),
        on_demand_price=Decimal(on_demand),
        spot_price=Decimal(spot),
    )


CATALOG = local_price_table(
    [
        local_type("e2-standard-2", "us-central1", "0.067011", "0.014108"),
        local_type("e2-standard-2", "europe-west4", "0.073", "0.02"),
    ]
)


def test_spot_is_repriced_from_on_demand_attempts_then_the_catalog() -> None:
    s = Store()
    s.attempt("j1", market="on-demand", price=70_000, cost=70_000, at=T0)
    # Same type and region ran on demand: its launch price (not the catalog's) is used.
    s.attempt("j2", market="spot", price=14_000, cost=14_000, at=T0 + timedelta(minutes=5))
    # No on-demand attempt in europe-west4: the catalog's price.
    s.attempt("j3", market="spot", price=20_000, cost=10_000, region="europe-west4")
    # Nowhere to be found: counted at its cost.
    s.attempt("j4", market="spot", price=5_000, cost=5_000, instance_type="x-1")
    attempts, *_ = s.frames()
    cf = counterfactual_on_demand(attempts, CATALOG)
    assert list(cf["on_demand_source"]) == ["on-demand", "attempts", "catalog", "unknown"]
    assert list(cf["on_demand_micros_per_hour"]) == [70_000, 70_000, 73_000, 0]
    assert list(cf["counterfactual_micros"]) == [70_000, 70_000, 36_500, 5_000]
    assert list(cf["savings_micros"]) == [0, 56_000, 26_500, 0]
    assert cf["savings"].iloc[2] == Decimal("0.026500")

    total = savings(cf)
    assert (total.spot_attempts, total.priced_from_attempts, total.priced_from_catalog) == (3, 1, 1)
    assert total.unpriced == 1
    assert total.cost == Decimal("0.099000")
    assert total.counterfactual == Decimal("0.181500")
    assert total.savings == Decimal("0.082500")
    assert total.spot_counterfactual - total.spot_cost == total.savings
    assert total.savings_fraction is not None
    assert abs(total.savings_fraction - 82_500 / 181_500) < 1e-12


def test_the_nearest_on_demand_attempt_in_time_sets_the_price() -> None:
    s = Store()
    s.attempt("j1", price=60_000, cost=1, at=T0)
    s.attempt("j2", price=90_000, cost=1, at=T0 + timedelta(days=10))
    s.attempt("j3", market="spot", price=10_000, cost=10_000, at=T0 + timedelta(days=1))
    s.attempt("j4", market="spot", price=10_000, cost=10_000, at=T0 + timedelta(days=9))
    attempts, *_ = s.frames()
    cf = counterfactual_on_demand(attempts)
    assert list(cf["on_demand_micros_per_hour"]) == [60_000, 90_000, 60_000, 90_000]
    assert list(cf["counterfactual_micros"])[2:] == [60_000, 90_000]


def test_input_is_not_modified_and_row_order_is_kept() -> None:
    s = Store()
    s.attempt("j1", market="spot", price=10_000, cost=3, at=T0 + timedelta(hours=1))
    s.attempt("j2", price=30_000, cost=9, at=T0)
    attempts, *_ = s.frames()
    before = attempts.copy()
    cf = counterfactual_on_demand(attempts.iloc[::-1])
    assert list(cf["attempt_id"]) == ["a001", "a000"]
    assert list(cf["counterfactual_micros"]) == [9, 9]
    assert attempts.equals(before)


def test_empty() -> None:
    attempts, *_ = Store().frames()
    cf = counterfactual_on_demand(attempts, CATALOG)
    assert cf.empty
    total = savings(cf)
    assert total.savings == 0 and total.savings_fraction is None


def test_price_tables() -> None:
    assert CATALOG.to_dict("records")[:2] == [
        {
            "cloud": "local",
            "region": "europe-west4",
            "instance_type": "e2-standard-2",
            "market": "on-demand",
            "price_micros_per_hour": 73_000,
        },
        {
            "cloud": "local",
            "region": "europe-west4",
            "instance_type": "e2-standard-2",
            "market": "spot",
            "price_micros_per_hour": 20_000,
        },
    ]
    table = offering_price_table(
        [
            offering("gcp", "r", "t", price="2.00", zone="r-a"),
            offering("gcp", "r", "t", price="1.50", zone="r-b"),
        ]
    )
    assert table["price_micros_per_hour"].tolist() == [1_500_000]  # the cheapest zone
