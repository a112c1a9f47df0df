"""The two bounding baselines and the registry."""

from __future__ import annotations

import pytest

from solver import Market, Unplaced
from solver.policies import POLICIES, get
from tests.unit.solver.policies.helpers import NOW, OD, SPOT, action, job, problem


def test_registry_names_every_policy() -> None:
    assert set(POLICIES) == {"optimizer", "greedy", "on-demand", "spot-only", "uniform-progress"}
    with pytest.raises(KeyError, match="known: greedy"):
        get("nope")


def test_on_demand_never_uses_spot() -> None:
    on_demand = get("on-demand")
    assert action(on_demand(problem(job()), time_limit_s=1, hint=None)) == "on-demand"
    # a job running on spot is moved off it
    moved = on_demand(problem(job(running_on=SPOT.id)), time_limit_s=1, hint=None)
    assert action(moved) == "on-demand"
    assert moved.solver.startswith("on-demand/")


def test_spot_only_never_uses_on_demand() -> None:
    spot_only = get("spot-only")
    assert action(spot_only(problem(job()), time_limit_s=1, hint=None)) == "spot"
    gone = spot_only(problem(job(), spot=False), time_limit_s=1, hint=None)
    assert gone.decisions["j"].reason is Unplaced.NO_OFFERING
    # past saving: still spot, marked late
    late = spot_only(problem(job(due_h=40)), time_limit_s=1, hint=None)
    d = late.decisions["j"]
    assert d.offering_id == SPOT.id and d.late and d.start == NOW
    # keeps its node
    kept = spot_only(problem(job(running_on=SPOT.id)), time_limit_s=1, hint=None)
    assert kept.decisions["j"].offering_id == SPOT.id
    assert OD.market is Market.ON_DEMAND
