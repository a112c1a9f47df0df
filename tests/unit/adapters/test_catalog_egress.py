"""Egress $/GB between cloud regions: Skyplane's table plus documented defaults."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.catalog import (
    CatalogError,
    EgressSource,
    EgressTable,
    default_egress_per_gb,
    load_egress,
)
from adapters.catalog.egress import normalize_location

SAMPLE = Path(__file__).parents[2] / "data" / "catalogs" / "skyplane_egress_sample.csv"


@pytest.fixture(scope="module")
def table() -> EgressTable:
    table, report = load_egress(EgressSource(SAMPLE, "skyplane sample", "2023-02-06"))
    assert (report.source, report.rows_read, report.produced) == ("egress", 42, 42)
    assert dict(report.skipped) == {}
    # 22 of the 42 rows name a GCP zone on one side or both.
    assert dict(report.repaired) == {"gcp zone read as its region": 22}
    return table


def test_table_prices_are_exact(table: EgressTable) -> None:
    assert table.source == "skyplane sample"
    assert table.prices[("azure:eastus", "aws:us-east-1")] == Decimal("0.0875")
    assert str(table.price_per_gb("azure:eastus", "aws:us-east-1")) == "0.0875"
    assert table.price_per_gb("aws:us-east-1", "aws:us-west-2") == Decimal("0.02")


def test_gcp_zones_are_read_as_regions(table: EgressTable) -> None:
    assert ("gcp:us-central1", "gcp:europe-west4") in table.prices
    assert table.price_per_gb("gcp:us-central1", "aws:us-east-1") == Decimal("0.12")
    assert table.price_per_gb("gcp:us-central1-a", "aws:us-east-1") == Decimal("0.12")
    assert table.price_per_gb("aws:us-east-1", "gcp:europe-west4") == Decimal("0.09")
    assert normalize_location("gcp:southamerica-east1-b") == "gcp:southamerica-east1"
    assert normalize_location("azure:eastus2") == "azure:eastus2"
    assert normalize_location("aws:us-east-1") == "aws:us-east-1"


def test_defaults_for_pairs_the_table_lacks(table: EgressTable) -> None:
    assert table.price_per_gb("aws:us-east-1", "aws:us-east-1") == 0
    assert table.price_per_gb("gcp:us-central1-a", "gcp:us-central1") == 0
    # Same cloud, another region; by source cloud.
    assert table.price_per_gb("aws:us-east-1", "aws:ap-south-1") == Decimal("0.02")
    assert table.price_per_gb("azure:eastus", "azure:japaneast") == Decimal("0.05")
    assert table.price_per_gb("gcp:us-central1", "gcp:asia-east1") == Decimal("0.08")
    # Another cloud.
    assert table.price_per_gb("aws:us-east-1", "lambda:us-east-1") == Decimal("0.09")
    assert table.price_per_gb("azure:eastus", "lambda:us-east-1") == Decimal("0.0875")
    assert table.price_per_gb("gcp:us-central1", "lambda:us-east-1") == Decimal("0.12")
    # A source cloud the table does not cover: the highest of the known defaults.
    assert table.price_per_gb("lambda:us-east-1", "aws:us-east-1") == Decimal("0.12")
    assert table.price_per_gb("lambda:us-east-1", "lambda:us-west-1") == Decimal("0.08")
    assert EgressTable().price_per_gb("aws:us-east-1", "gcp:us-central1") == Decimal("0.09")
    assert default_egress_per_gb("gcp:us-central1", "aws:us-east-1") == Decimal("0.12")


def test_dirty_rows_are_counted(tmp_path: Path) -> None:
    path = tmp_path / "cost.csv"
    path.write_text(
        "src,dest,cost\n"
        "aws:us-east-1,aws:us-west-2,0.02\n"
        "aws:us-east-1,aws:us-west-2,0.02\n"
        "aws:us-east-1,aws:us-west-2,0.03\n"
        "us-east-1,aws:us-west-2,0.02\n"
        "aws:us-east-1,aws:,0.02\n"
        "aws:us-east-1,gcp:us-east1-b,free\n"
        "aws:us-east-1,gcp:us-east1-b,\n"
        "aws:us-east-1,azure:eastus,-0.09\n"
        "aws:us-east-1,azure:westus\n"
    )
    table, report = load_egress(EgressSource(path))
    assert report.rows_read == 9
    assert dict(report.skipped) == {
        "cost non-numeric": 3,
        "cost<0": 1,
        "duplicate": 1,
        "duplicate id, different values": 1,
        "location malformed": 2,
    }
    assert dict(table.prices) == {("aws:us-east-1", "aws:us-west-2"): Decimal("0.02")}


def test_missing_column_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "cost.csv"
    path.write_text("src,dst,cost\naws:us-east-1,aws:us-west-2,0.02\n")
    with pytest.raises(CatalogError, match="dest"):
        load_egress(EgressSource(path))
