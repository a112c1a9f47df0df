"""load_catalog: every source together, subsets by cloud/region/type, provenance."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import Market, Offering
from adapters.catalog import (
    AwsSources,
    Catalog,
    CatalogError,
    CatalogSources,
    CsvSource,
    EgressSource,
    load_catalog,
)

DATA = Path(__file__).parents[2] / "data" / "catalogs"
OFFERING_REPORTS = ("gcp", "azure", "lambda", "aws", "aws-spot")


@pytest.fixture(scope="module")
def sources() -> CatalogSources:
    return CatalogSources(
        csvs=tuple(
            CsvSource(cloud, DATA / f"{cloud}_vms.csv", f"synthetic {cloud}", "2026-01-02")
            for cloud in ("gcp", "azure", "lambda")
        ),
        aws=AwsSources(
            spot_advisor=DATA / "aws_spot_advisor_sample.json",
            spot_advisor_source="advisor sample",
            spot_advisor_date="2025-06",
        ),
        egress=EgressSource(DATA / "skyplane_egress_sample.csv", "skyplane sample", "2023-02-06"),
    )


@pytest.fixture(scope="module")
def full(sources: CatalogSources) -> Catalog:
    return load_catalog(sources)


def test_everything_loads_with_unique_ids(full: Catalog) -> None:
    assert set(full.reports) == {*OFFERING_REPORTS, "egress"}
    assert len(full.offerings) == sum(full.reports[r].produced for r in OFFERING_REPORTS)
    assert len({o.id for o in full.offerings}) == len(full.offerings)
    assert {o.cloud for o in full.offerings} == {"gcp", "azure", "lambda", "aws"}
    assert all(
        isinstance(o.price_per_hour, Decimal) and o.price_per_hour > 0 for o in full.offerings
    )
    assert all(o.source and o.source_date for o in full.offerings)
    assert full.egress.price_per_gb("gcp:us-central1", "gcp:europe-west4") == Decimal("0.08")


def test_spot_is_never_above_its_on_demand(full: Catalog) -> None:
    on_demand = {o.id.rsplit("/", 1)[0]: o for o in full.offerings if o.market is Market.ON_DEMAND}
    for o in full.offerings:
        if o.market is Market.SPOT:
            assert o.price_per_hour <= on_demand[o.id.rsplit("/", 1)[0]].price_per_hour
            assert o.preemption_hazard_per_hour > 0
        else:
            assert o.preemption_hazard_per_hour == 0


def test_clouds_filter(sources: CatalogSources) -> None:
    catalog = load_catalog(sources, clouds={"azure", "lambda"})
    assert {o.cloud for o in catalog.offerings} == {"azure", "lambda"}
    assert set(catalog.reports) == {"azure", "lambda", "egress"}


def test_regions_filter_by_name_or_cloud_qualified(sources: CatalogSources) -> None:
    def places(catalog: Catalog) -> set[tuple[str, str]]:
        return {(o.cloud, o.region) for o in catalog.offerings}

    # Lambda and AWS both have a region named us-east-1.
    assert places(load_catalog(sources, regions={"us-east-1"})) == {
        ("aws", "us-east-1"),
        ("lambda", "us-east-1"),
    }
    assert places(load_catalog(sources, regions={"aws:us-east-1", "gcp:europe-west4"})) == {
        ("aws", "us-east-1"),
        ("gcp", "europe-west4"),
    }


def test_instance_filter(sources: CatalogSources) -> None:
    catalog = load_catalog(
        sources, clouds={"gcp", "aws"}, instance_filter=lambda t: t.startswith(("a2-", "p3."))
    )
    assert {o.instance_type.split(".")[0].split("-")[0] for o in catalog.offerings} == {"a2", "p3"}
    assert all(o.gpu_count > 0 for o in catalog.offerings)
    assert catalog.reports["gcp"].filtered > 0


def test_none_is_the_bundled_aws_on_demand_list() -> None:
    catalog = load_catalog(None, regions={"us-east-1"}, instance_filter=lambda t: t == "m5.large")
    (m5,) = catalog.offerings
    assert m5.id == "aws/us-east-1/us-east-1/m5.large/on-demand"
    assert set(catalog.reports) == {"aws"}
    assert catalog.egress.prices == {}
    assert catalog.egress.price_per_gb("aws:us-east-1", "aws:us-west-2") == Decimal("0.02")


def test_a_cloud_without_a_source_or_with_two_is_an_error(sources: CatalogSources) -> None:
    with pytest.raises(CatalogError, match="oracle"):
        load_catalog(sources, clouds={"gcp", "oracle"})
    twice = CatalogSources(csvs=(*sources.csvs, sources.csvs[0]))
    with pytest.raises(CatalogError, match="more than one source"):
        load_catalog(twice)


def test_from_data_dir_knows_the_shared_layout_and_provenance(tmp_path: Path) -> None:
    (tmp_path / "catalogs").mkdir()
    shutil.copy(DATA / "gcp_vms.csv", tmp_path / "catalogs" / "anycloud_gcp_vms.csv")
    advisor_dir = tmp_path / "spot_traces" / "aws_spot_advisor"
    advisor_dir.mkdir(parents=True)
    shutil.copy(DATA / "aws_spot_advisor_sample.json", advisor_dir / "spot-advisor-data.json")
    egress_dir = tmp_path / "billing" / "skyplane_egress"
    egress_dir.mkdir(parents=True)
    shutil.copy(DATA / "skyplane_egress_sample.csv", egress_dir / "intercloud_egress_cost.csv")

    catalog = load_catalog(tmp_path, regions={"us-central1", "us-east-1"})
    assert set(catalog.reports) == {"gcp", "aws", "aws-spot", "egress"}
    by_cloud: dict[str, set[tuple[str, str]]] = {}
    for o in catalog.offerings:
        by_cloud.setdefault(f"{o.cloud}/{o.market}", set()).add((o.source, o.source_date))
    assert by_cloud["gcp/on-demand"] == {("anycloud-sh/catalog@62ff0a9 gcp/vms.csv", "2026-05-20")}
    assert by_cloud["aws/spot"] == {
        (
            "apache-libcloud 3.9.1 libcloud/data/pricing.json compute.ec2_linux"
            " + alexei-led/spotinfo@05e9331 internal/spot/data/spot-advisor-data.json",
            "2025-06",
        )
    }
    assert catalog.egress.source_date == "2023-02-06"
    with pytest.raises(CatalogError, match="no catalog files"):
        CatalogSources.from_data_dir(tmp_path / "nowhere")


def test_offering_provenance_fields_default_to_empty() -> None:
    o = Offering("local", "r", "r-a", "t", Market.SPOT, 1.0, 1.0, 0, "", Decimal("0.1"))
    assert (o.source, o.source_date) == ("", "")
    assert o.id == "local/r/r-a/t/spot"


def test_real_clouds_keep_spot_quota_apart(full: Catalog) -> None:
    for cloud in ("aws", "gcp", "azure"):
        spot = next(o for o in full.offerings if o.cloud == cloud and o.market is Market.SPOT)
        assert spot.quota_draw[0] == (f"{cloud}/{spot.region}/spot-vcpu", spot.vcpus)
        twin = next(
            o
            for o in full.offerings
            if o.market is Market.ON_DEMAND and o.id.rsplit("/", 1)[0] == spot.id.rsplit("/", 1)[0]
        )
        assert twin.quota_draw[0] == (f"{cloud}/{spot.region}/vcpu", twin.vcpus)
