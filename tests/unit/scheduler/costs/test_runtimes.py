"""Runtime factors per job class from succeeded jobs' final attempts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from scheduler.costs import RefitSettings, refit
from tests.unit.scheduler.costs.synth import T0, History, offering

VM = offering("gcp", "us-central1", "n2-standard-4")
SPOT = offering("gcp", "us-central1", "n2-standard-4", "spot", hazard=0.01)


def _jobs(h: History, cls: str, n: int, ratio: float, estimate_h: float = 2.0) -> None:
    for i in range(n):
        h.run(
            VM,
            at=T0 + timedelta(hours=i),
            hours=estimate_h * ratio,
            class_key=cls,
            estimate_s=estimate_h * 3600,
            bill=False,
        )


def test_a_class_that_always_runs_one_and_a_half_times_its_estimate() -> None:
    h = History()
    _jobs(h, "train", 200, 1.5)
    _jobs(h, "once", 1, 1.5)
    by_class = {r.class_key: r for r in refit(*h.frames(), [VM]).params.runtimes}
    train = by_class["train"]
    assert train.n == 200
    assert train.p50 == train.p90 == train.p95 == train.upper == pytest.approx(1.5)
    assert train.factor == pytest.approx(1.5, abs=0.01)
    # One sample: mostly the prior (1.2 with 5 pseudo-samples): (1.5 + 5 * 1.2) / 6.
    once = by_class["once"]
    assert once.n == 1
    assert once.factor == pytest.approx(1.25)
    model = refit(*h.frames(), [VM]).model
    assert model.runtime_factor("train", 1.2) == train.factor
    assert model.runtime_factor("never-seen", 1.2) == 1.2


def test_quantiles_of_a_spread_and_factors_below_one() -> None:
    h = History()
    for i in range(100):
        _jobs(h, "spread", 1, 1.0 + i / 100)  # 1.00 .. 1.99
    _jobs(h, "early", 100, 0.6)
    by_class = {r.class_key: r for r in refit(*h.frames(), [VM]).params.runtimes}
    spread = by_class["spread"]
    assert spread.p50 == pytest.approx(1.495, abs=0.01)
    assert spread.p90 == pytest.approx(1.891, abs=0.01)
    assert spread.p95 == pytest.approx(1.9405, abs=0.01)
    assert spread.upper == spread.p90
    assert by_class["early"].factor == pytest.approx((100 * 0.6 + 5 * 1.2) / 105)
    assert by_class["early"].factor < 1
    q95 = refit(*h.frames(), [VM], settings=RefitSettings(runtime_quantile=0.95)).params
    assert next(r for r in q95.runtimes if r.class_key == "spread").upper == spread.p95


def test_a_resumed_job_is_extrapolated_from_its_final_attempt() -> None:
    """Ran 1 h, was preempted with half the work checkpointed, redid nothing else and ran
    1.5 h more: the job takes 3 h of work against a 2 h estimate."""
    h = History()
    h.run(SPOT, hours=1, preempted=True, job="j", class_key="resumed", estimate_s=7200, bill=False)
    h.run(
        VM,
        at=T0 + timedelta(hours=2),
        hours=1.5,
        job="j",
        class_key="resumed",
        estimate_s=7200,
        start_progress=0.5,
        bill=False,
    )
    (r,) = refit(*h.frames(), [VM, SPOT]).params.runtimes
    assert (r.class_key, r.n) == ("resumed", 1)
    assert r.p50 == pytest.approx(1.5)


def test_jobs_that_cannot_give_a_sample_are_skipped_and_counted() -> None:
    h = History()
    _jobs(h, "ok", 1, 1.0)
    h.run(VM, class_key="failed", state="FAILED", bill=False)
    h.run(VM, class_key="noest", estimate_s=0, bill=False)
    h.run(SPOT, class_key="lastpreempted", preempted=True, bill=False)
    h.run(VM, class_key="tail", start_progress=0.9, bill=False)
    result = refit(*h.frames(), [VM, SPOT])
    assert [r.class_key for r in result.params.runtimes] == ["ok"]
    assert result.inputs["runtime_skipped"] == {
        "final_fraction_small": 1,
        "final_preempted": 1,
        "no_estimate": 1,
    }
    assert result.inputs["runtime_samples"] == 1


def test_factors_are_clamped() -> None:
    h = History()
    _jobs(h, "slow", 100, 30.0)
    (r,) = refit(*h.frames(), [VM]).params.runtimes
    assert r.factor == 10.0
