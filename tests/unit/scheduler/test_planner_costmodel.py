"""The planner prices with the newest cost model: effective prices, learned hazards and
launch delays, and each job class's runtime factor; what is launched stays the catalog
offering (so attempts keep recording list prices)."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import Market, Offering, QuotaLimit
from scheduler.control import ControlSettings
from scheduler.control.costmodel import CostModelKeeper
from scheduler.control.planner import build_problem
from scheduler.costs import (
    CostModel,
    CostModelParams,
    HazardEstimate,
    LaunchDelay,
    PriceRatio,
    RuntimeFactor,
)
from scheduler.domain import JobSpec, JobState, JobView, Resources
from scheduler.offerings import OfferingCatalog
from scheduler.store import BillingStore, CostModelStore, Database, HistoryStore

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
SETTINGS = ControlSettings()


def offering(region: str, itype: str, market: Market, price: str) -> Offering:
    return Offering(
        cloud="local",
        region=region,
        zone=f"{region}-a",
        instance_type=itype,
        market=market,
        vcpus=2,
        memory_gib=8,
        gpu_count=0,
        gpu_type="",
        price_per_hour=Decimal(price),
        preemption_hazard_per_hour=0.01 if market is Market.SPOT else 0.0,
        launch_delay_s=30.0,
    )


EU_N2 = offering("europe-west4", "n2-standard-2", Market.ON_DEMAND, "0.100000")
US_E2_SPOT = offering("us-central1", "e2-standard-2", Market.SPOT, "0.020000")


def job(class_label: str = "") -> JobView:
    labels = {"class": class_label} if class_label else {}
    spec = JobSpec(
        name="j",
        command=("python", "train.py"),
        estimated_runtime=timedelta(minutes=10),
        deadline=NOW + timedelta(hours=2),
        resources=Resources(vcpus=2, memory_gib=4),
        labels=labels,
        spot_allowed=True,
    )
    return JobView(
        id="j-1",
        tenant="default",
        spec=spec,
        state=JobState.PENDING,
        state_reason="",
        created_at=NOW,
        updated_at=NOW,
        progress=0.0,
        checkpoint_progress=0.0,
        checkpoint_seq=0,
        preemptions=0,
        failures=0,
        cost=Decimal(0),
        exit_code=None,
        finished_at=None,
    )


FITTED = CostModel(
    CostModelParams(
        prices=(
            PriceRatio(
                "family", "local/europe-west4/n2/on-demand", 50.0, 3_500_000, 5_000_000, 0.7, 0.72
            ),
        ),
        hazards=(HazardEstimate("local/us-central1/e2", 9, 30.0, 0.01, 100.0, 0.3),),
        runtimes=(RuntimeFactor("etl", 40, 1.4, 1.9, 2.1, 1.9, 1.85),),
        launch_delays=(LaunchDelay("local/us-central1", 20, 12.0, 30.0, 14.0),),
    )
)


def problem(model: CostModel, j: JobView):  # type: ignore[no-untyped-def]
    return build_problem(
        now=NOW,
        pending=[j],
        offerings=[EU_N2, US_E2_SPOT],
        quotas=[
            QuotaLimit("local/europe-west4/vcpu", 16),
            QuotaLimit("local/us-central1/vcpu", 16),
        ],
        live=[],
        live_jobs={},
        blocked=set(),
        settings=SETTINGS,
        model=model,
    )


def test_the_catalog_model_changes_nothing() -> None:
    p = problem(CostModel.catalog(), job())
    by_id = {o.id: o for o in p.offerings}
    assert by_id[EU_N2.id].price_micros_per_hour == 100_000
    assert by_id[US_E2_SPOT.id].hazard_per_hour == 0.01
    [j] = p.jobs
    assert j.runtime_p_s == round(600 * SETTINGS.runtime_pessimism)


def test_a_fitted_model_reprices_offerings_and_stretches_its_classes_runtimes() -> None:
    p = problem(FITTED, job("etl"))
    by_id = {o.id: o for o in p.offerings}
    assert by_id[EU_N2.id].price_micros_per_hour == 72_000  # the learned discount
    assert by_id[US_E2_SPOT.id].price_micros_per_hour == 20_000  # nothing learned: list
    assert by_id[US_E2_SPOT.id].hazard_per_hour == pytest.approx(0.3)
    assert by_id[US_E2_SPOT.id].launch_delay_s == 14
    [j] = p.jobs
    assert j.runtime_s == 600 and j.runtime_p_s == round(600 * 1.85)
    # A class the model never saw keeps the configured pessimism.
    [other] = problem(FITTED, job("train")).jobs
    assert other.runtime_p_s == round(600 * SETTINGS.runtime_pessimism)


def test_the_keeper_hands_the_planner_the_newest_version(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    models = CostModelStore(db)
    keeper = CostModelKeeper(
        HistoryStore(db), BillingStore(db), models, OfferingCatalog([]), clock=lambda: NOW
    )
    version, model = keeper.current()
    assert version == 0 and model.params.empty
    # A version saved by anyone (another replica, `skybatch costmodel refit`) is picked up.
    CostModelStore(Database(db.url)).save(
        params=FITTED.params.to_json(), accuracy={}, inputs={}, trigger="manual", now=NOW
    )
    version, model = keeper.current()
    assert version == 1
    assert model.price_ratio("local", "europe-west4", "n2-standard-4", "on-demand") == 0.72
    # An empty store refits to the catalog model, as a new version, without raising.
    fitted = keeper.refit_now(trigger="manual")
    assert fitted.version == 2 and fitted.params["prices"] == []
    assert keeper.current()[0] == 2


def test_the_keeper_thread_refits_when_billing_arrives_and_stops_promptly(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    models = CostModelStore(db)
    keeper = CostModelKeeper(
        HistoryStore(db),
        BillingStore(db),
        models,
        OfferingCatalog([]),
        clock=lambda: NOW,
        interval_s=3600,
    )
    stop = threading.Event()
    thread = threading.Thread(target=keeper.run, args=(stop,), daemon=True)
    thread.start()
    keeper.billing_arrived()
    deadline = time.monotonic() + 20
    while models.newest_version() == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    newest = models.newest()
    assert newest is not None and newest.trigger == "billing"
    stop.set()
    keeper.wake()
    thread.join(timeout=5)
    assert not thread.is_alive()
