"""SkyPilot-format price lists (GCP, Azure, Lambda) as offerings, dirty rows counted."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import Market, Offering
from adapters.catalog import CatalogError, CsvSource, LoadReport, fields, load_skypilot_csv
from adapters.catalog.defaults import DEFAULT_SPOT_HAZARD_PER_HOUR, LAUNCH_DELAY_S
from adapters.catalog.fields import Rejected
from adapters.catalog.report import Skip

DATA = Path(__file__).parents[2] / "data" / "catalogs"


def load(cloud: str, **filters: object) -> tuple[list[Offering], LoadReport]:
    src = CsvSource(cloud, DATA / f"{cloud}_vms.csv", f"synthetic {cloud}", "2026-01-02")
    return load_skypilot_csv(src, **filters)  # type: ignore[arg-type]


def by_id(offerings: list[Offering]) -> dict[str, Offering]:
    return {o.id: o for o in offerings}


def test_gcp_counts_every_dirty_row_by_reason() -> None:
    offerings, report = load("gcp")
    assert report.source == "gcp"
    assert report.rows_read == 19
    assert report.filtered == 0
    assert dict(report.skipped) == {
        "accelerator-only row": 4,
        "duplicate": 1,
        "gpu host: no accelerator price": 1,
        "gpu host: unmapped type": 1,
        "price non-numeric": 1,
        "price<=0": 1,
        "spot<=0": 1,
        "spot>on-demand": 2,
        "vcpus/memory missing": 1,
    }
    assert report.produced == len(offerings) == 14
    assert dict(report.repaired) == {}


def test_gcp_prices_are_the_decimals_in_the_file() -> None:
    offerings = by_id(load("gcp")[0])
    od = offerings["gcp/us-central1/us-central1-a/n2-standard-4/on-demand"]
    spot = offerings["gcp/us-central1/us-central1-a/n2-standard-4/spot"]
    assert isinstance(od.price_per_hour, Decimal)
    assert str(od.price_per_hour) == "0.2000"
    assert str(spot.price_per_hour) == "0.0800"
    assert (od.vcpus, od.memory_gib, od.gpu_count, od.gpu_type) == (4.0, 16.0, 0, "")
    assert od.zone == "us-central1-a" and od.region == "us-central1"


def test_gcp_gpu_machine_price_is_host_plus_its_accelerators() -> None:
    offerings = by_id(load("gcp")[0])
    a2 = offerings["gcp/us-central1/us-central1-a/a2-highgpu-1g/on-demand"]
    assert a2.price_per_hour == Decimal("3.6000")  # 0.7000 host + 2.9000 for 1 x A100
    assert (a2.gpu_count, a2.gpu_type) == (1, "A100")
    a2_spot = offerings["gcp/us-central1/us-central1-a/a2-highgpu-1g/spot"]
    assert a2_spot.price_per_hour == Decimal("1.7500")  # 0.3500 + 1.4000
    # A4's host row is 0: its B200 row carries the whole price, and that is not dirty.
    a4 = offerings["gcp/us-central1/us-central1-b/a4-highgpu-8g/on-demand"]
    assert a4.price_per_hour == Decimal("90.0000")
    assert (a4.gpu_count, a4.gpu_type) == (8, "B200")
    assert offerings["gcp/us-central1/us-central1-b/a4-highgpu-8g/spot"].price_per_hour == 35


def test_gcp_bad_spot_drops_only_the_spot_offering() -> None:
    offerings = by_id(load("gcp")[0])
    base = "gcp/us-central1/us-central1-a"
    # Spot above on-demand on the row, and on the GPU part only (A100-80GB 1.9 > 1.8).
    for instance_type in ("n2-standard-8", "a2-ultragpu-1g", "n2-standard-2"):
        assert f"{base}/{instance_type}/on-demand" in offerings
        assert f"{base}/{instance_type}/spot" not in offerings
    assert offerings[f"{base}/a2-ultragpu-1g/on-demand"].price_per_hour == Decimal("2.9000")
    # An empty SpotPrice is no spot market, not a dirty row.
    assert f"{base}/e2-standard-4/on-demand" in offerings
    assert f"{base}/e2-standard-4/spot" not in offerings


def test_gcp_accelerator_rows_and_unpriceable_gpu_hosts_are_not_offerings() -> None:
    offerings = load("gcp")[0]
    assert all(o.instance_type for o in offerings)
    assert not [o for o in offerings if o.instance_type == "a3-edgegpu-8g"]
    assert not [
        o for o in offerings if o.instance_type == "a2-highgpu-1g" and o.region == "europe-west4"
    ]
    assert not [o for o in offerings if o.instance_type in ("e2-standard-2", "c3-standard-4")]


def test_hazard_launch_delay_and_provenance() -> None:
    for cloud in ("gcp", "azure", "lambda"):
        for o in load(cloud)[0]:
            expected = DEFAULT_SPOT_HAZARD_PER_HOUR if o.market is Market.SPOT else 0.0
            assert o.preemption_hazard_per_hour == expected
            assert o.launch_delay_s == LAUNCH_DELAY_S[cloud]
            assert (o.source, o.source_date) == (f"synthetic {cloud}", "2026-01-02")
    assert pytest.approx(0.05 / 730) == DEFAULT_SPOT_HAZARD_PER_HOUR


def test_azure_rows_with_an_extra_field_are_repaired_and_dirty_rows_counted() -> None:
    offerings, report = load("azure")
    assert report.rows_read == 15
    assert dict(report.repaired) == {"extra fields merged into last column": 3}
    assert dict(report.skipped) == {
        "accelerator without name": 1,
        "duplicate id, different values": 1,
        "fractional gpu": 1,
        "malformed row": 1,
        "price missing": 1,
        "price non-numeric": 1,
        "price<=0": 1,
        "spot non-numeric": 1,
        "spot>on-demand": 1,
        "vcpus/memory invalid": 1,
    }
    assert report.produced == len(offerings) == 11


def test_azure_zone_is_the_region_and_gpus_come_from_the_row() -> None:
    offerings = by_id(load("azure")[0])
    # The first of two rows with one id wins (0.0960, not the later 0.0990).
    d2 = offerings["azure/eastus/eastus/Standard_D2s_v5/on-demand"]
    assert d2.price_per_hour == Decimal("0.0960")
    assert d2.zone == d2.region == "eastus"
    nc = offerings["azure/eastus/eastus/Standard_NC24ads_A100_v4/spot"]
    assert (nc.gpu_count, nc.gpu_type, nc.price_per_hour) == (1, "A100-80GB", Decimal("0.7340"))
    # Non-numeric spot: the on-demand offering stays.
    assert "azure/westeurope/westeurope/Standard_E2s_v5/on-demand" in offerings
    assert "azure/westeurope/westeurope/Standard_E2s_v5/spot" not in offerings


def test_lambda_has_on_demand_only() -> None:
    offerings, report = load("lambda")
    assert {o.market for o in offerings} == {Market.ON_DEMAND}
    assert dict(report.skipped) == {"duplicate": 1, "gpu count invalid": 1, "price<=0": 1}
    h100 = by_id(offerings)["lambda/us-east-1/us-east-1/gpu_8x_h100_sxm5/on-demand"]
    assert (h100.gpu_count, h100.gpu_type, h100.vcpus) == (8, "H100", 208.0)
    assert h100.price_per_hour == Decimal("24.00")


@pytest.mark.parametrize("cloud", ["gcp", "azure", "lambda"])
def test_offering_ids_are_unique(cloud: str) -> None:
    offerings = load(cloud)[0]
    assert len({o.id for o in offerings}) == len(offerings)


def test_region_and_type_filters_count_as_filtered_not_skipped() -> None:
    offerings, report = load("gcp", keep_region=lambda r: r == "europe-west4")
    assert {o.region for o in offerings} == {"europe-west4"}
    assert report.filtered == 16
    assert report.rows_read == 19
    assert dict(report.skipped) == {"gpu host: no accelerator price": 1, "price non-numeric": 1}

    offerings, report = load("azure", keep_type=lambda t: t.startswith("Standard_D"))
    assert {o.instance_type for o in offerings} == {"Standard_D2s_v5", "Standard_D4s_v5"}
    assert report.filtered == 9


def test_missing_column_and_missing_file_are_errors(tmp_path: Path) -> None:
    bad = tmp_path / "vms.csv"
    bad.write_text("InstanceType,vCPUs,MemoryGiB,Region,Price\nn2-standard-2,2,8,us-east1,0.1\n")
    with pytest.raises(CatalogError, match="AcceleratorName"):
        load_skypilot_csv(CsvSource("gcp", bad))
    with pytest.raises(CatalogError, match="cannot read"):
        load_skypilot_csv(CsvSource("gcp", tmp_path / "absent.csv"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", Skip.PRICE_MISSING),
        ("  ", Skip.PRICE_MISSING),
        ("n/a", Skip.PRICE_NOT_NUMERIC),
        ("NaN", Skip.PRICE_NOT_NUMERIC),
        ("Infinity", Skip.PRICE_NOT_NUMERIC),
        ("0", Skip.PRICE_NOT_POSITIVE),
        ("-0.5", Skip.PRICE_NOT_POSITIVE),
    ],
)
def test_on_demand_price_rejects(text: str, reason: Skip) -> None:
    with pytest.raises(Rejected) as caught:
        fields.on_demand_price(text)
    assert caught.value.reason is reason


def test_money_is_parsed_from_text_not_float() -> None:
    assert str(fields.on_demand_price(" 0.10000000000000000555 ")) == "0.10000000000000000555"
    assert fields.on_demand_price("0", allow_zero=True) == 0
    assert fields.spot_price("") is None
    assert fields.gpu_count("8.0") == 8
    with pytest.raises(Rejected):
        fields.gpu_count("0.5")
