"""Spot hazard per cloud/region/family: Gamma-Poisson around the catalog's prior."""

from __future__ import annotations

from datetime import timedelta

import pytest

from adapters.base import Offering
from scheduler.costs import RefitSettings, refit
from tests.unit.scheduler.costs.synth import T0, History, offering

PRIOR = 0.02
EAST = offering("aws", "us-east-1", "m5.large", "spot", price="0.04", hazard=PRIOR)
EAST_XL = offering("aws", "us-east-1", "m5.xlarge", "spot", price="0.08", hazard=PRIOR)
WEST = offering("aws", "us-west-2", "m5.large", "spot", price="0.04", hazard=PRIOR)
WEST_XL = offering("aws", "us-west-2", "m5.xlarge", "spot", price="0.08", hazard=PRIOR)
WEST_OD = offering("aws", "us-west-2", "m5.large", price="0.096")
CATALOG = [EAST, EAST_XL, WEST, WEST_XL, WEST_OD]


def _spot_history(h: History, o: Offering, *, attempts: int, hours: float, events: int) -> None:
    for i in range(attempts):
        h.run(o, at=T0 + timedelta(hours=i), hours=hours, preempted=i < events, bill=False)


def test_a_region_with_four_times_the_hazard_is_recovered() -> None:
    h = History()
    # 2000 node-hours each: 40 preemptions in the east (0.02/h), 160 in the west (0.08/h).
    _spot_history(h, EAST, attempts=400, hours=5, events=40)
    _spot_history(h, WEST, attempts=400, hours=5, events=160)
    result = refit(*h.frames(), CATALOG)
    by_key = {e.key: e for e in result.params.hazards}
    east, west = by_key["aws/us-east-1/m5"], by_key["aws/us-west-2/m5"]
    assert (east.events, west.events) == (40, 160)
    assert west.exposure_hours == pytest.approx(2000)
    assert east.prior == west.prior == PRIOR
    assert east.posterior == pytest.approx(0.02, rel=0.05)
    assert west.posterior == pytest.approx(0.08, rel=0.05)
    model = result.model
    # Every m5 spot offering of the region gets it, shapes with no history too.
    assert model.offering(WEST_XL).preemption_hazard_per_hour == west.posterior
    assert model.offering(EAST_XL).preemption_hazard_per_hour == east.posterior
    # On-demand keeps no hazard.
    assert model.offering(WEST_OD).preemption_hazard_per_hour == 0.0


def test_prior_strength_is_a_pseudo_exposure() -> None:
    h = History()
    _spot_history(h, WEST, attempts=2, hours=5, events=1)  # 1 event in 10 h: 0.1/h observed
    default = refit(*h.frames(), CATALOG).params.hazards[0]
    # k = 1 event / 0.02 per h = 50 h: (50 * 0.02 + 1) / (50 + 10)
    assert default.prior_hours == pytest.approx(50)
    assert default.posterior == pytest.approx(2 / 60)
    fixed = refit(*h.frames(), CATALOG, settings=RefitSettings(hazard_prior_hours=1000)).params
    assert fixed.hazards[0].posterior == pytest.approx((1000 * 0.02 + 1) / 1010)


def test_a_rare_event_prior_is_not_overturned_by_one_early_preemption() -> None:
    band = 0.125 / 730  # the AWS advisor's 10-15% a month band
    o = offering("aws", "eu-west-1", "c5.large", "spot", hazard=band)
    h = History()
    _spot_history(h, o, attempts=1, hours=2, events=1)
    est = refit(*h.frames(), [o]).params.hazards[0]
    assert est.prior_hours == pytest.approx(730 / 0.125)
    assert est.posterior < 3 * band


def test_only_spot_attempts_that_ran_count() -> None:
    h = History()
    _spot_history(h, WEST, attempts=10, hours=1, events=2)
    h.run(WEST_OD, hours=50, preempted=True, bill=False)  # on-demand: ignored
    attempts, jobs, billing = h.frames()
    attempts.loc[0, "started_at"] = None  # never started: no exposure, no event
    est = refit(attempts, jobs, billing, CATALOG).params.hazards
    assert len(est) == 1
    assert (est[0].events, est[0].exposure_hours) == (1, pytest.approx(9.0))


def test_a_family_the_catalog_lacks_falls_back_to_its_region_then_a_default() -> None:
    h = History()
    c6 = offering("aws", "us-west-2", "c6g.large", "spot")
    z9 = offering("zcloud", "nowhere", "z9.large", "spot")
    _spot_history(h, c6, attempts=1, hours=1, events=0)
    _spot_history(h, z9, attempts=1, hours=1, events=0)
    by_key = {e.key: e for e in refit(*h.frames(), CATALOG).params.hazards}
    assert by_key["aws/us-west-2/c6g"].prior == PRIOR
    assert by_key["zcloud/nowhere/z9"].prior == RefitSettings().hazard_default_per_hour
