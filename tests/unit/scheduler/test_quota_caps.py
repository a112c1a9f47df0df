"""Admin quota caps: stored on real SQLite and real PostgreSQL, applied by the catalog to
the local cloud's quotas (lowering, never raising), and their input checks."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.local import LocalCloudConfig, make_local_cloud
from scheduler.errors import InvalidArgument
from scheduler.offerings import OfferingCatalog
from scheduler.quotas import PoolLimits, check_limit, check_pool_id, pools_in_use, unknown_pool
from scheduler.store import Database, QuotaStore

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
POOL = "local/us-central1/vcpu"


@pytest.fixture(params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    url = (
        f"sqlite:///{tmp_path / 'q.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    database = Database(url)
    yield database
    database.close()


def test_caps_are_set_replaced_listed_and_cleared(db: Database) -> None:
    store = QuotaStore(db)
    assert store.caps() == [] and store.limits() == {}
    first = store.set_cap(POOL, 4, T0, set_by="root", note="keep headroom")
    assert (first.pool, first.limit, first.set_at, first.set_by) == (POOL, 4.0, T0, "root")
    store.set_cap("local/asia-east1/vcpu", 0, T0, set_by="root")
    later = T0 + timedelta(hours=1)
    again = store.set_cap(POOL, 2.5, later, set_by="ops")
    assert again.limit == 2.5 and again.note == ""
    [asia, us] = store.caps()
    assert us.set_at == later and us.set_by == "ops" and us.set_at.tzinfo is not None
    assert asia.limit == 0.0
    assert store.limits() == {POOL: 2.5, "local/asia-east1/vcpu": 0.0}
    cleared = store.clear_cap(POOL)
    assert cleared is not None and cleared.limit == 2.5
    assert store.clear_cap(POOL) is None  # idempotent
    assert store.limits() == {"local/asia-east1/vcpu": 0.0}
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(InvalidArgument, match="limit"):
            store.set_cap(POOL, bad, T0, set_by="root")


@pytest.fixture
def catalog(tmp_path: Path) -> Iterator[tuple[OfferingCatalog, dict[str, float]]]:
    caps: dict[str, float] = {}
    driver, cloud = make_local_cloud(
        LocalCloudConfig(state_dir=tmp_path / "cloud", vcpu_quota_per_region=8)
    )
    yield OfferingCatalog([cloud], caps=lambda: caps), caps
    driver.close()


def test_a_cap_lowers_a_pool_and_never_raises_it(
    catalog: tuple[OfferingCatalog, dict[str, float]],
) -> None:
    cat, caps = catalog
    assert {q.pool: q.capacity for q in cat.quotas()}[POOL] == 8
    caps[POOL] = 2
    caps["local/europe-west4/vcpu"] = 100  # above the cloud's: no effect
    quotas = {q.pool: q.capacity for q in cat.quotas()}
    assert quotas[POOL] == 2 and quotas["local/europe-west4/vcpu"] == 8
    assert quotas["local/asia-east1/vcpu"] == 8
    # A quota error that teaches a lower limit still wins over a higher cap.
    cat.lower_quota(POOL, 1)
    [us] = [p for p in cat.pool_limits() if p.pool == POOL]
    assert us == PoolLimits(POOL, cloud=8, learned=1, cap=2) and us.effective == 1
    # Read afresh at every call: clearing applies at the next plan.
    caps.clear()
    assert {q.pool: q.capacity for q in cat.quotas()}[POOL] == 1


def test_a_cap_on_a_pool_no_cloud_reports_is_kept_apart(
    catalog: tuple[OfferingCatalog, dict[str, float]],
) -> None:
    cat, caps = catalog
    caps["gone/region/vcpu"] = 3
    [gone] = [p for p in cat.pool_limits() if p.pool == "gone/region/vcpu"]
    assert not gone.reported and gone.effective == 3
    assert all(p.reported for p in cat.pool_limits() if p.pool != "gone/region/vcpu")


def test_pool_checks_name_the_field_and_suggest_close_matches() -> None:
    assert check_pool_id(POOL) == POOL
    assert (
        check_pool_id("aws/us-east-1/spot-gpu:nvidia-a100") == "aws/us-east-1/spot-gpu:nvidia-a100"
    )
    for bad in ("", "x" * 201, "local/us central1/vcpu", "/local"):
        with pytest.raises(InvalidArgument) as info:
            check_pool_id(bad)
        assert info.value.field == "pool"
    known = [POOL, "local/europe-west4/vcpu"]
    assert "did you mean local/us-central1/vcpu" in str(
        unknown_pool("local/us-central1/vcpus", known)
    )
    assert "known pools: local/europe-west4/vcpu, local/us-central1/vcpu" in str(
        unknown_pool("aws/x", known)
    )
    assert check_limit(0) == 0.0
    with pytest.raises(InvalidArgument, match="finite"):
        check_limit(math.inf, "LIMIT")


def test_in_use_sums_each_live_offerings_draw(
    catalog: tuple[OfferingCatalog, dict[str, float]],
) -> None:
    cat, _ = catalog
    offerings = cat.by_id()
    two = next(o for o in offerings.values() if o.region == "us-central1" and o.vcpus == 2)
    assert pools_in_use([two.id, two.id, "no-such-offering"], offerings) == {POOL: 4.0}
