"""The local cloud's catalog: real GCE list prices from libcloud's pricing.json."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from adapters.local.catalog import (
    DEFAULT_REGIONS,
    DEFAULT_SHAPES,
    PRICE_QUANTUM,
    Shape,
    build_catalog,
    catalog_from_prices,
    load_gce_prices,
    pricing_json_path,
    to_decimal,
)


def _prices(**by_family: Any) -> dict[str, object]:
    """A gce_instances section: family -> resource -> market -> region -> price."""
    return {
        family: {
            resource: {
                market: {region: {"price": price} for region, price in regions.items()}
                for market, regions in markets.items()
            }
            for resource, markets in resources.items()
        }
        for family, resources in by_family.items()
    }


N2_STANDARD_2 = (Shape("n2", "standard", 2, Decimal(4)),)


def test_pricing_json_ships_with_libcloud() -> None:
    assert pricing_json_path().is_file()
    assert "n2" in load_gce_prices()


def test_default_catalog_covers_every_shape_and_region() -> None:
    catalog = build_catalog()
    names = {(it.name, it.region) for it in catalog}
    assert names == {(s.name, r) for s in DEFAULT_SHAPES for r in DEFAULT_REGIONS}
    assert {s.name for s in DEFAULT_SHAPES} >= {
        "n2-standard-2",
        "n2-standard-4",
        "n2-standard-8",
        "n2-highmem-2",
        "n2-highmem-4",
        "e2-standard-2",
        "e2-standard-4",
    }
    for it in catalog:
        assert it.zone == f"{it.region}-a"
        assert it.gpu_count == 0 and it.gpu_type == ""
        assert isinstance(it.on_demand_price, Decimal) and isinstance(it.spot_price, Decimal)
        assert 0 < it.spot_price < it.on_demand_price
        assert it.on_demand_price == it.on_demand_price.quantize(PRICE_QUANTUM)


def test_price_is_vcpus_times_cpu_plus_memory_times_ram_exactly() -> None:
    raw = json.loads(pricing_json_path().read_text(encoding="utf-8"), parse_float=Decimal)
    n2 = raw["compute"]["gce_instances"]["n2"]
    cpu = n2["cpu"]["on_demand"]["us-central1"]["price"]
    ram = n2["ram"]["on_demand"]["us-central1"]["price"]
    spot_cpu = n2["cpu"]["preemptible"]["us-central1"]["price"]
    spot_ram = n2["ram"]["preemptible"]["us-central1"]["price"]
    (it,) = [
        it
        for it in build_catalog(["us-central1"])
        if it.name == "n2-highmem-4" and it.region == "us-central1"
    ]
    assert it.vcpus == 4 and it.memory_gib == 32
    assert it.on_demand_price == (4 * cpu + 32 * ram).quantize(PRICE_QUANTUM)
    assert it.spot_price == (4 * spot_cpu + 32 * spot_ram).quantize(PRICE_QUANTUM)


def test_known_price_of_n2_standard_2_in_us_central1() -> None:
    # 2 * 0.031611 + 8 * 0.004237 and 2 * 0.007649 + 8 * 0.001025 (libcloud 3.9.1 data)
    (it,) = [it for it in build_catalog(["us-central1"]) if it.name == "n2-standard-2"]
    assert it.on_demand_price == Decimal("0.097118")
    assert it.spot_price == Decimal("0.023498")


def test_regions_are_configurable_and_unknown_ones_are_skipped() -> None:
    catalog = build_catalog(["europe-west4", "mars-north1"])
    assert {it.region for it in catalog} == {"europe-west4"}


def test_dirty_rows_are_skipped_not_crashed_on() -> None:
    ok = {"cpu": {"on_demand": {"r1": "0.03"}, "preemptible": {"r1": "0.01"}}}
    ok["ram"] = {"on_demand": {"r1": "0.004"}, "preemptible": {"r1": "0.001"}}
    prices = _prices(
        n2=ok,
        zero={"cpu": {"on_demand": {"r1": 0}, "preemptible": {"r1": "0.01"}}, "ram": ok["ram"]},
        pricey_spot={
            "cpu": {"on_demand": {"r1": "0.03"}, "preemptible": {"r1": "0.5"}},
            "ram": ok["ram"],
        },
        garbage={"cpu": {"on_demand": {"r1": "n/a"}, "preemptible": {"r1": None}}, "ram": {}},
        no_ram={"cpu": ok["cpu"]},
    )
    prices["not_a_dict"] = "oops"
    shapes = [
        Shape(family, "standard", 2, Decimal(4))
        for family in ("n2", "zero", "pricey_spot", "garbage", "no_ram", "not_a_dict", "absent")
    ]
    catalog = catalog_from_prices(prices, ["r1", "r2"], shapes)
    assert [(it.name, it.region) for it in catalog] == [("n2-standard-2", "r1")]
    assert catalog[0].on_demand_price == Decimal("0.092")  # 2 * 0.03 + 8 * 0.004
    assert catalog[0].spot_price == Decimal("0.028")


def test_float_prices_become_their_decimal_literal() -> None:
    prices = _prices(
        n2={
            "cpu": {"on_demand": {"r": 0.1}, "preemptible": {"r": 0.03}},
            "ram": {"on_demand": {"r": 0.01}, "preemptible": {"r": 0.003}},
        }
    )
    (it,) = catalog_from_prices(prices, ["r"], N2_STANDARD_2)
    assert it.on_demand_price == Decimal("0.28")  # 2 * 0.1 + 8 * 0.01, no binary residue
    assert it.spot_price == Decimal("0.084")


def test_prices_are_quantized_to_micro_dollars() -> None:
    prices = _prices(
        n2={
            "cpu": {"on_demand": {"r": "0.0000004"}, "preemptible": {"r": "0.0000001"}},
            "ram": {"on_demand": {"r": "0.00000015"}, "preemptible": {"r": "0.00000001"}},
        }
    )
    (it,) = catalog_from_prices(prices, ["r"], N2_STANDARD_2)
    assert it.on_demand_price == Decimal("0.000002")  # 0.0000008 + 0.0000012
    assert it.spot_price == Decimal("0.000000")  # rounds to zero, still below on-demand


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("0.5", Decimal("0.5")),
        (0.1, Decimal("0.1")),
        (2, Decimal(2)),
        (Decimal("1.25"), Decimal("1.25")),
        ("nan", None),
        ("Infinity", None),
        ("abc", None),
        (True, None),
        (None, None),
        ([1], None),
    ],
)
def test_to_decimal(value: object, expected: Decimal | None) -> None:
    assert to_decimal(value) == expected


def test_custom_pricing_file(tmp_path: Path) -> None:
    path = tmp_path / "pricing.json"
    section = _prices(
        n2={
            "cpu": {"on_demand": {"r": 0.02}, "preemptible": {"r": 0.01}},
            "ram": {"on_demand": {"r": 0.002}, "preemptible": {"r": 0.001}},
        }
    )
    path.write_text(json.dumps({"compute": {"gce_instances": section}}), encoding="utf-8")
    (it,) = build_catalog(["r"], N2_STANDARD_2, pricing_path=path)
    assert it.on_demand_price == Decimal("0.056")
