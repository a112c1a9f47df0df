"""The simulation engine: the live control loop on a virtual clock, simulated workers,
and a store left behind that any reader can open."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import Market, Offering, QuotaLimit
from adapters.sim import AvailabilitySeries, QuotaChange, SpotSupply
from scheduler.domain import JobState, Resources
from scheduler.sim import (
    DEFAULT_START,
    SIM_CONTROL,
    DeadlineRule,
    EstimateError,
    SimConfig,
    SimJob,
    SimResult,
    SimWorkload,
    WorkloadRule,
    build_workload,
    quotas_for,
    simulate,
)
from scheduler.store import Database, HistoryStore

HOUR = 3600.0


def offering(region: str, market: Market, price: str, hazard: float = 0.0) -> Offering:
    return Offering(
        cloud="sim",
        region=region,
        zone=f"{region}-a",
        instance_type="g1",
        market=market,
        vcpus=8.0,
        memory_gib=32.0,
        gpu_count=1,
        gpu_type="V100",
        price_per_hour=Decimal(price),
        preemption_hazard_per_hour=hazard,
        launch_delay_s=60.0,
        separate_spot_quota=True,
    )


R1_OD = offering("r1", Market.ON_DEMAND, "3.00")
R2_OD = offering("r2", Market.ON_DEMAND, "3.50")
R1_SPOT = offering("r1", Market.SPOT, "1.00", hazard=0.05)
OFFERINGS = (R1_OD, R2_OD, R1_SPOT)
CONTROL = replace(SIM_CONTROL, plan_slot_s=300, plan_horizon_slots=24)


def job(key: str, at: float, runtime: float, **kw: object) -> SimJob:
    base: dict[str, object] = {
        "key": key,
        "arrival_s": at,
        "runtime_s": runtime,
        "estimate_s": runtime,
        "deadline_s": at + 6 * runtime,
        "resources": Resources(vcpus=4, memory_gib=16, gpu_count=1, gpu_type="V100"),
        "spot_allowed": False,
        "checkpoint_interval_s": 600.0,
    }
    base.update(kw)
    return SimJob(**base)  # type: ignore[arg-type]


def config(**kw: object) -> SimConfig:
    base: dict[str, object] = {
        "offerings": OFFERINGS,
        "quotas": quotas_for(OFFERINGS, vcpus=64, gpus=4),
        "control": CONTROL,
        "solver_time_limit_s": 1.0,
    }
    base.update(kw)
    return SimConfig(**base)  # type: ignore[arg-type]


def run(tmp_path: Path, cfg: SimConfig, *jobs: SimJob, name: str = "run") -> SimResult:
    return simulate(cfg, SimWorkload(tuple(jobs)), tmp_path / name)


def test_a_job_runs_its_true_runtime_not_its_estimate(tmp_path: Path) -> None:
    # Told 1 h, really 3 h; deadline set from the estimate (2 x 1 h): it finishes late.
    slow = job("slow", 0, 3 * HOUR, estimate_s=HOUR, deadline_s=2 * HOUR)
    result = run(tmp_path, config(), slow)
    out = result.outcome("slow")
    assert out.state is JobState.SUCCEEDED
    [attempt] = out.attempts
    assert attempt.offering_id == R1_OD.id
    assert attempt.run_s == pytest.approx(3 * HOUR, abs=1)
    assert out.finished_at is not None and not out.met_deadline
    assert out.lateness_s == pytest.approx(HOUR + 60, abs=90)  # + launch delay, tick grid
    # Billed from launch (the tick at 0) to its end: the 60 s launch delay and 3 h, at
    # $3/h, exactly.
    assert out.cost == attempt.cost == Decimal("9.05")
    assert result.summary.attainment == 0.0 and result.summary.late == 1


def test_quota_change_mid_run_moves_new_jobs_elsewhere(tmp_path: Path) -> None:
    cfg = config(
        quota_changes=(
            QuotaChange(DEFAULT_START + timedelta(hours=2), "sim/r1/gpu:V100", 0),
            QuotaChange(DEFAULT_START + timedelta(hours=6), "sim/r1/gpu:V100", 4),
        )
    )
    result = run(
        tmp_path,
        cfg,
        job("before", 0, 4 * HOUR),
        job("during", 3 * HOUR, HOUR),
        job("after", 7 * HOUR, HOUR),
    )
    offerings = {k: v[0] for k, v in result.decisions().items()}
    assert offerings == {"before": (R1_OD.id,), "during": (R2_OD.id,), "after": (R1_OD.id,)}
    assert all(o.state is JobState.SUCCEEDED for o in result.outcomes)
    # "before" kept running when the quota dropped under it (clouds do not evict).
    assert result.outcome("before").attempts[0].run_s == pytest.approx(4 * HOUR, abs=1)


def test_preempted_job_resumes_from_its_checkpoint(tmp_path: Path) -> None:
    # Spot capacity in r1 goes after 1 h 10 min and comes back 2 h later.
    series = AvailabilitySeries(DEFAULT_START, 600.0, (True,) * 7 + (False,) * 12 + (True,))
    cfg = config(spot={"*/*/*/*/spot": SpotSupply(availability=series)}, notice_s=120)
    result = run(tmp_path, cfg, job("j", 0, 2 * HOUR, spot_allowed=True, deadline_s=12 * HOUR))
    out = result.outcome("j")
    assert out.state is JobState.SUCCEEDED and out.preemptions == 1
    first, second = out.attempts
    assert first.offering_id == R1_SPOT.id and first.preempted
    # The checkpoint taken at the notice kept the work done: the rest is 2 h minus what
    # ran before the notice (~1 h 8 min after the worker was up), plus the restart.
    assert first.run_s + second.run_s == pytest.approx(2 * HOUR + CONTROL.restart_overhead_s, abs=2)
    assert result.summary.spot_hours_share > 0


def test_same_seed_same_result(tmp_path: Path) -> None:
    cfg = config(
        hazard_multipliers={"*/*/*/*/spot": 400.0},  # preemptions every few hours
        seed=5,
    )
    rule = WorkloadRule(
        span_s=12 * HOUR,
        deadline=DeadlineRule(slack=4.0),
        error=EstimateError(sigma=0.4),
        spot_share=0.7,
    )
    from adapters.traces.workloads import JobShape

    shapes = [
        JobShape("philly", f"p{k}", 4.0, 12.0, 1, 1800 + 300 * (k % 7), arrival_s=900.0 * k)
        for k in range(24)
    ]
    workload = build_workload(shapes, rule, seed=5, offerings=OFFERINGS)
    a = simulate(cfg, workload, tmp_path / "a")
    b = simulate(cfg, workload, tmp_path / "b")
    assert a.decisions() == b.decisions()
    assert a.summary.cost == b.summary.cost
    assert a.summary.preemptions == b.summary.preemptions > 0
    assert [o.finished_at for o in a.outcomes] == [o.finished_at for o in b.outcomes]
    other = build_workload(shapes, rule, seed=6, offerings=OFFERINGS)
    assert [j.estimate_s for j in other.jobs] != [j.estimate_s for j in workload.jobs]


def test_leaves_a_store_any_reader_can_open(tmp_path: Path) -> None:
    result = run(tmp_path, config(), job("a", 0, HOUR), job("b", 600, HOUR))
    assert result.db_url == f"sqlite:///{tmp_path / 'run' / 'skybatch.db'}"
    db = Database(result.db_url)
    try:
        jobs = HistoryStore(db).jobs_frame()
        attempts = HistoryStore(db).attempts_frame()
    finally:
        db.close()
    assert sorted(jobs["name"]) == ["a", "b"] and set(jobs["state"]) == {"SUCCEEDED"}
    assert attempts["cost_micros"].sum() == int(result.summary.cost * 1_000_000)
    assert jobs["created_at"].min() == DEFAULT_START
    with pytest.raises(FileExistsError):
        run(tmp_path, config(), job("a", 0, HOUR))


def test_greedy_policy_by_name_and_unknown_policy(tmp_path: Path) -> None:
    result = run(tmp_path, config(policy="greedy"), job("a", 0, HOUR))
    assert result.outcome("a").offerings == (R1_OD.id,)
    with pytest.raises(KeyError, match="unknown policy"):
        run(tmp_path, config(policy="no-such-policy"), job("a", 0, HOUR), name="x")
    assert not (tmp_path / "x").exists(), "no half-made store"


def test_idle_stretches_cost_no_ticks(tmp_path: Path) -> None:
    # Two jobs a week apart: a handful of ticks each, none in between.
    result = run(tmp_path, config(), job("a", 0, HOUR), job("b", 7 * 24 * HOUR, HOUR))
    assert result.summary.virtual_s > 7 * 24 * HOUR
    assert result.summary.ticks < 12


def test_config_refuses_a_heartbeat_slower_than_the_timeout() -> None:
    with pytest.raises(ValueError, match="heartbeat"):
        config(heartbeat_interval_s=CONTROL.heartbeat_timeout_s)
    with pytest.raises(ValueError):
        config(quotas=(QuotaLimit("sim/r1/vcpu", 8),), tick_s=0)


def test_a_node_slower_than_the_launch_timeout_is_given_up_on(tmp_path: Path) -> None:
    # Every launch takes 20 min, the loop waits 15: each attempt is lost (its worker
    # never reported in time) until the node-loss budget (3 retries) is spent.
    result = run(tmp_path, config(launch_delays={"*": 1200.0}), job("slow-boot", 0, HOUR))
    out = result.outcome("slow-boot")
    assert out.state is JobState.FAILED
    assert len(out.attempts) == 4 and not any(a.preempted for a in out.attempts)
    assert result.counters["ticks:launch-timeout"] == 4
