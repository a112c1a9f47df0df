"""When the local cloud preempts spot nodes: pure functions of policy and node id."""

from __future__ import annotations

import statistics

import pytest

from adapters.local.preemption import (
    PreemptionPolicy,
    ScheduledPreemption,
    preempt_after_s,
    random_lifetime_s,
)


def test_no_hazard_no_schedule_means_never() -> None:
    assert preempt_after_s(PreemptionPolicy(), "ln-000000000001", 1) is None


def test_schedule_picks_the_nth_spot_launch() -> None:
    policy = PreemptionPolicy(schedule=(ScheduledPreemption(2, 7.5),))
    assert preempt_after_s(policy, "ln-a", 1) is None
    assert preempt_after_s(policy, "ln-b", 2) == 7.5
    assert preempt_after_s(policy, "ln-c", 3) is None


def test_random_lifetime_is_reproducible_per_seed_and_node() -> None:
    policy = PreemptionPolicy(hazard_per_hour=0.5, seed=42)
    first = random_lifetime_s(policy, "ln-abc")
    assert first is not None and first > 0
    assert random_lifetime_s(PreemptionPolicy(hazard_per_hour=0.5, seed=42), "ln-abc") == first
    assert random_lifetime_s(PreemptionPolicy(hazard_per_hour=0.5, seed=43), "ln-abc") != first
    assert random_lifetime_s(policy, "ln-abd") != first


def test_random_lifetime_mean_matches_hazard_and_time_scale() -> None:
    # 0.5 preemptions per simulated hour, 3600 simulated seconds per real second:
    # mean lifetime 2 simulated hours = 2 real seconds.
    policy = PreemptionPolicy(hazard_per_hour=0.5, time_scale=3600.0, seed=1)
    draws = [random_lifetime_s(policy, f"ln-{i:012x}") for i in range(4000)]
    assert statistics.fmean(d for d in draws if d is not None) == pytest.approx(2.0, rel=0.1)


def test_earliest_of_schedule_and_hazard_wins() -> None:
    policy = PreemptionPolicy(
        hazard_per_hour=1.0, time_scale=3600.0, schedule=(ScheduledPreemption(1, 1e9),)
    )
    lifetime = random_lifetime_s(policy, "ln-x")
    assert preempt_after_s(policy, "ln-x", 1) == lifetime
    soon = PreemptionPolicy(
        hazard_per_hour=1e-9, schedule=(ScheduledPreemption(1, 0.25),), time_scale=1.0
    )
    assert preempt_after_s(soon, "ln-x", 1) == 0.25


@pytest.mark.parametrize(
    "make",
    [
        lambda: PreemptionPolicy(grace_s=-1),
        lambda: PreemptionPolicy(hazard_per_hour=-0.1),
        lambda: PreemptionPolicy(time_scale=0),
        lambda: ScheduledPreemption(0, 1.0),
        lambda: ScheduledPreemption(1, -1.0),
    ],
)
def test_invalid_policies_are_rejected(make: object) -> None:
    with pytest.raises(ValueError):
        make()  # type: ignore[operator]
