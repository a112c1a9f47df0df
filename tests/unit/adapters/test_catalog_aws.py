"""AWS: on-demand from libcloud's bundled pricing.json, spot from the spot advisor."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import libcloud
import pytest
from libcloud.compute.constants.ec2_instance_types import INSTANCE_TYPES

from adapters.base import Market, Offering
from adapters.catalog import (
    GPU_BY_FAMILY,
    AwsSources,
    CatalogError,
    libcloud_pricing_path,
    load_aws,
)
from adapters.catalog.defaults import LAUNCH_DELAY_S, hazard_from_band

DATA = Path(__file__).parents[2] / "data" / "catalogs"
ADVISOR = DATA / "aws_spot_advisor_sample.json"


def by_id(offerings: list[Offering]) -> dict[str, Offering]:
    return {o.id: o for o in offerings}


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def bundled() -> tuple[list[Offering], Any]:
    offerings, reports = load_aws(AwsSources())
    assert [r.source for r in reports] == ["aws"]
    return offerings, reports[0]


def test_libcloud_ships_its_pricing_json() -> None:
    assert libcloud_pricing_path().is_file()
    assert libcloud.__version__ == "3.9.1"


def test_bundled_on_demand_prices_are_exact_and_sized(
    bundled: tuple[list[Offering], Any],
) -> None:
    offerings = by_id(bundled[0])
    m5 = offerings["aws/us-east-1/us-east-1/m5.large/on-demand"]
    assert m5.price_per_hour == Decimal("0.096")
    assert (m5.vcpus, m5.memory_gib, m5.gpu_count, m5.gpu_type) == (2.0, 8.0, 0, "")
    assert m5.preemption_hazard_per_hour == 0.0
    assert m5.launch_delay_s == LAUNCH_DELAY_S["aws"]
    p3 = offerings["aws/us-east-1/us-east-1/p3.2xlarge/on-demand"]
    assert (p3.price_per_hour, p3.gpu_count, p3.gpu_type) == (Decimal("3.06"), 1, "V100")
    assert p3.source == "apache-libcloud 3.9.1 libcloud/data/pricing.json compute.ec2_linux"
    assert p3.source_date == "2025-03-02"  # the file's "updated" epoch, 1740936978
    assert all(o.market is Market.ON_DEMAND for o in bundled[0])


def test_bundled_report_counts_zero_prices(bundled: tuple[list[Offering], Any]) -> None:
    offerings, report = bundled
    with libcloud_pricing_path().open() as f:
        prices = json.load(f)["compute"]["ec2_linux"]
    entries = [p for by_region in prices.values() for p in by_region.values()]
    assert report.rows_read == len(entries)
    assert report.skipped["price<=0"] == sum(1 for p in entries if p <= 0) > 0
    assert report.produced == len(offerings) == report.rows_read - report.skipped_total
    assert len({o.id for o in offerings}) == len(offerings)


def test_every_libcloud_gpu_family_has_a_gpu_name() -> None:
    specs: dict[str, Any] = INSTANCE_TYPES
    families = {
        name.split(".", 1)[0]
        for name, spec in specs.items()
        if spec["extra"].get("gpu") not in (None, "0")
    }
    assert families <= set(GPU_BY_FAMILY)


def test_spot_price_is_on_demand_less_the_savings() -> None:
    offerings, reports = load_aws(AwsSources(spot_advisor=ADVISOR))
    got = by_id(offerings)
    # us-east-1 p3.2xlarge: s=80, band 4 (>20%).
    p3 = got["aws/us-east-1/us-east-1/p3.2xlarge/spot"]
    assert p3.price_per_hour == Decimal("0.612")  # 3.06 x 20 / 100
    assert p3.preemption_hazard_per_hour == pytest.approx(0.225 / 730)
    assert (p3.gpu_count, p3.gpu_type, p3.vcpus) == (1, "V100", 8.0)
    # us-east-1 m5.large: s=66, band 3 (15-20%).
    m5 = got["aws/us-east-1/us-east-1/m5.large/spot"]
    assert m5.price_per_hour == Decimal("0.03264")  # 0.096 x 34 / 100
    assert m5.preemption_hazard_per_hour == pytest.approx(0.175 / 730)
    # ca-central-1 g4dn.xlarge: s=65, band 1 (5-10%).
    g4 = got["aws/ca-central-1/ca-central-1/g4dn.xlarge/spot"]
    assert g4.price_per_hour == Decimal("0.619") * 35 / 100
    assert g4.preemption_hazard_per_hour == pytest.approx(0.075 / 730)
    # s=0: spot at the on-demand price is a poor deal but not dirty.
    a1 = got["aws/us-east-1/us-east-1/a1.medium/spot"]
    assert a1.price_per_hour == got["aws/us-east-1/us-east-1/a1.medium/on-demand"].price_per_hour
    # Without a stated provenance the advisor is named by its file.
    assert a1.source.endswith(" + aws_spot_advisor_sample.json")
    assert [r.source for r in reports] == ["aws", "aws-spot"]


def test_spot_report_counts_dirty_advisor_entries() -> None:
    offerings, reports = load_aws(
        AwsSources(spot_advisor=ADVISOR, spot_advisor_source="advisor", spot_advisor_date="2025-06")
    )
    spot = reports[1]
    assert spot.rows_read == 14
    # ca-central-1 p5.48xlarge has s=-62 in the real data; c8gd.large has no libcloud price.
    assert dict(spot.skipped) == {"spot: no on-demand price": 1, "spot>on-demand": 1}
    spots = [o for o in offerings if o.market is Market.SPOT]
    assert spot.produced == len(spots) == 12
    assert "aws/ca-central-1/ca-central-1/p5.48xlarge/on-demand" in by_id(offerings)
    assert {o.source_date for o in spots} == {"2025-06"}
    assert all(o.source.endswith(" + advisor") and "pricing.json" in o.source for o in spots)
    assert len({o.id for o in offerings}) == len(offerings)


def test_dirty_pricing_json_is_counted_and_money_kept_as_text(tmp_path: Path) -> None:
    pricing = tmp_path / "pricing.json"
    pricing.write_text(
        '{"updated": 1700000000, "compute": {"ec2_linux": {'
        '"m5.large": {"us-east-1": 0.0960, "us-east-2": 0.0, "us-west-2": -1, "eu-west-1": "x"},'
        '"zz9.huge": {"us-east-1": 1.5}, "p3.2xlarge": {"us-east-1": 3.06}, "m5.xlarge": 7}}}'
    )
    offerings, reports = load_aws(AwsSources(pricing_json=pricing))
    (report,) = reports
    assert report.rows_read == 7
    assert dict(report.skipped) == {
        "malformed row": 1,
        "price non-numeric": 1,
        "price<=0": 2,
        "vcpus/memory missing": 1,
    }
    m5 = by_id(offerings)["aws/us-east-1/us-east-1/m5.large/on-demand"]
    assert str(m5.price_per_hour) == "0.0960"  # parse_float=Decimal: the file's digits
    assert m5.source == "libcloud-format pricing.json compute.ec2_linux"
    assert m5.source_date == "2023-11-14"


def test_pricing_json_without_a_date_is_dated_by_libcloud_version(tmp_path: Path) -> None:
    pricing = write_json(tmp_path / "p.json", {"compute": {"ec2_linux": {}}})
    _, (report,) = load_aws(AwsSources(pricing_json=pricing))
    assert report.rows_read == 0
    offerings, _ = load_aws(
        AwsSources(
            pricing_json=write_json(
                tmp_path / "q.json", {"compute": {"ec2_linux": {"m5.large": {"us-east-1": 1}}}}
            )
        )
    )
    assert offerings[0].source_date == "apache-libcloud 3.9.1"


def test_sizes_fall_back_to_the_advisor_but_never_guess_gpus(tmp_path: Path) -> None:
    pricing = write_json(
        tmp_path / "pricing.json",
        {
            "compute": {
                "ec2_linux": {"c8gd.large": {"us-east-1": 0.1}, "g4dn.metal": {"us-east-1": 8}}
            }
        },
    )
    advisor = write_json(
        tmp_path / "advisor.json",
        {
            "instance_types": {
                "c8gd.large": {"cores": 2, "ram_gb": 4.0},
                "g4dn.metal": {"cores": 96, "ram_gb": 384.0},
            },
            "spot_advisor": {},
        },
    )
    offerings, reports = load_aws(AwsSources(pricing_json=pricing, spot_advisor=advisor))
    (c8,) = offerings
    assert (c8.instance_type, c8.vcpus, c8.memory_gib, c8.gpu_count) == ("c8gd.large", 2, 4, 0)
    assert dict(reports[0].skipped) == {"gpu count unknown": 1}


def test_invalid_advisor_entries_are_counted(tmp_path: Path) -> None:
    advisor = write_json(
        tmp_path / "advisor.json",
        {
            "spot_advisor": {
                "us-east-1": {
                    "Linux": {
                        "m5.large": {"s": "66", "r": 1},
                        "c5.xlarge": {"s": 50, "r": 7},
                        "t3.micro": {"s": 50},
                        "r5.large": {"s": True, "r": 0},
                        "p3.2xlarge": {"s": 100, "r": 0},
                    }
                },
                "eu-west-1": {"Windows": {"m5.large": {"s": 50, "r": 0}}},
            }
        },
    )
    _, reports = load_aws(AwsSources(spot_advisor=advisor))
    spot = reports[1]
    assert spot.rows_read == 5
    assert dict(spot.skipped) == {"spot advisor entry invalid": 4, "spot<=0": 1}
    assert spot.produced == 0


def test_filters_apply_to_on_demand_and_spot() -> None:
    offerings, reports = load_aws(
        AwsSources(spot_advisor=ADVISOR),
        keep_region=lambda r: r == "ca-central-1",
        keep_type=lambda t: t.startswith(("m5.", "p3.")),
    )
    assert {(o.region, o.instance_type.split(".")[0]) for o in offerings} == {
        ("ca-central-1", "m5"),
        ("ca-central-1", "p3"),
    }
    assert reports[1].filtered == 12
    assert reports[1].produced == 2


def test_hazard_from_band() -> None:
    assert [hazard_from_band(b) * 730 for b in range(5)] == pytest.approx(
        [0.025, 0.075, 0.125, 0.175, 0.225]
    )
    with pytest.raises(ValueError):
        hazard_from_band(5)


def test_unreadable_sources_are_errors(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match=r"no compute\.ec2_linux"):
        load_aws(AwsSources(pricing_json=write_json(tmp_path / "p.json", {"compute": {}})))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(CatalogError, match="not valid JSON"):
        load_aws(AwsSources(spot_advisor=bad))
    with pytest.raises(CatalogError, match="no spot_advisor"):
        load_aws(AwsSources(spot_advisor=write_json(tmp_path / "a.json", {"ranges": []})))
