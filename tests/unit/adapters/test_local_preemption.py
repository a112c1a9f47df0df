"""When the local cloud preempts spot nodes: pure functions of policy and node id."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from adapters.base import Market
from adapters.local import DEFAULT_REGIONS, LocalCloudConfig, LocalNodeDriver, LocalProfile
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


# -- per-region true hazards (hidden from the offerings) ---------------------------------


def test_a_listed_region_uses_its_own_rate_and_others_the_default() -> None:
    policy = PreemptionPolicy(
        hazard_per_hour=0.5, hazard_by_region={"europe-west4": 2.0}, time_scale=3600.0, seed=7
    )
    plain = PreemptionPolicy(hazard_per_hour=0.5, time_scale=3600.0, seed=7)
    default = random_lifetime_s(plain, "ln-abc")
    assert default is not None
    # Same seeded draw (seed and node id), scaled by the rate: 4x the hazard, 1/4 the life.
    assert random_lifetime_s(policy, "ln-abc", "europe-west4") == pytest.approx(default / 4)
    assert random_lifetime_s(policy, "ln-abc", "us-central1") == default
    assert random_lifetime_s(policy, "ln-abc") == default  # no region: the default rate
    assert preempt_after_s(policy, "ln-abc", 1, "europe-west4") == pytest.approx(default / 4)
    assert preempt_after_s(policy, "ln-abc", 1, "asia-east1") == default


def test_region_rates_can_switch_the_hazard_on_or_off() -> None:
    noisy_only = PreemptionPolicy(hazard_by_region={"asia-east1": 1.0})
    assert random_lifetime_s(noisy_only, "ln-x", "us-central1") is None
    assert random_lifetime_s(noisy_only, "ln-x", "asia-east1") is not None
    calm = PreemptionPolicy(hazard_per_hour=1.0, hazard_by_region={"us-central1": 0.0})
    assert random_lifetime_s(calm, "ln-x", "us-central1") is None
    assert preempt_after_s(calm, "ln-x", 1, "us-central1") is None
    assert random_lifetime_s(calm, "ln-x", "asia-east1") is not None


def test_region_mean_lifetime_matches_its_rate() -> None:
    # 2 preemptions per simulated hour at 3600x: mean lifetime 0.5 real seconds.
    policy = PreemptionPolicy(
        hazard_per_hour=0.1, hazard_by_region={"europe-west4": 2.0}, time_scale=3600.0, seed=3
    )
    draws = [random_lifetime_s(policy, f"ln-{i:012x}", "europe-west4") for i in range(4000)]
    assert statistics.fmean(d for d in draws if d is not None) == pytest.approx(0.5, rel=0.1)


def test_region_rates_are_copied_validated_and_keep_the_policy_hashable() -> None:
    rates = {"europe-west4": 2.0}
    policy = PreemptionPolicy(hazard_by_region=rates)
    rates["europe-west4"] = 9.0
    assert policy.hazard_for("europe-west4") == 2.0
    assert policy.hazard_for("us-central1") == 0.0
    assert policy == PreemptionPolicy(hazard_by_region={"europe-west4": 2.0})
    assert hash(policy) == hash(PreemptionPolicy(hazard_by_region={"europe-west4": 2.0}))
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="hazard_by_region"):
            PreemptionPolicy(hazard_by_region={"asia-east1": bad})


def test_offerings_advertise_the_prior_not_the_regions_truth(tmp_path: Path) -> None:
    policy = PreemptionPolicy(
        hazard_per_hour=0.2, hazard_by_region={"europe-west4": 3.0}, time_scale=10.0
    )
    config = LocalCloudConfig(state_dir=tmp_path / "cloud", preemption=policy)
    driver = LocalNodeDriver(config)  # not started: no monitor thread, no process
    profile = LocalProfile(config)
    spot_hazards = {
        (location.id, o.preemption_hazard_per_hour)
        for location in driver.list_locations()
        for size in driver.list_sizes(location)
        for o in profile.offerings_for(size, location)
        if o.market == Market.SPOT
    }
    assert spot_hazards == {(region, 2.0) for region in DEFAULT_REGIONS}
