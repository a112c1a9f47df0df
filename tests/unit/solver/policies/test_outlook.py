"""The spot outlook: expected costs to finish from a decision process over how spot
comes and goes (:mod:`solver.outlook`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from solver import solve, solve_greedy
from solver.model import SpotOutlook
from solver.outlook import INF, Table, chain, state_of
from tests.unit.solver.policies.helpers import HOUR, NOW, OD, SLOT, SPOT, action, job, problem

#: Spot comes back quickly and stays for hours.
GOOD = SpotOutlook(step_s=SLOT, loss=(0.02,), back=(0.5,), price_micros_per_hour=973_100)
#: Spot, once gone, never comes back.
NEVER = replace(GOOD, back=(0.0,))


def test_chain_rows_are_distributions_and_ages_advance() -> None:
    out = SpotOutlook(step_s=60, loss=(0.3, 0.1, 0.05), back=(0.6, 0.2, 0.1), widths=(1, 3))
    T, up = chain(out, 1)
    assert np.allclose(T.sum(axis=1), 1.0)
    assert up.tolist() == [True] * 3 + [False] * 3
    # from the youngest spot bin: lost 0.3, to the next bin 0.7 (width 1)
    assert T[0, 3] == pytest.approx(0.3) and T[0, 1] == pytest.approx(0.7)
    # a bin three steps wide is left a third of the time
    assert T[1, 2] == pytest.approx(0.9 / 3) and T[1, 1] == pytest.approx(0.9 * 2 / 3)
    T5, _ = chain(out, 5)
    assert np.allclose(T5, np.linalg.matrix_power(T, 5))


def test_state_of_maps_age_to_bins() -> None:
    out = SpotOutlook(step_s=60, loss=(0.3, 0.1, 0.05), back=(0.6, 0.2, 0.1), widths=(1, 3))
    assert state_of(replace(out, age_s=60), True) == 0
    assert state_of(replace(out, age_s=120), True) == 1
    assert state_of(replace(out, age_s=240), True) == 1
    assert state_of(replace(out, age_s=300), True) == 2
    assert state_of(replace(out, age_s=10_000), False) == 5
    assert not replace(out, loss=(0.3, 0.1)).usable  # bins and hazards disagree
    assert not replace(out, back=(1.5, 0.1, 0.1)).usable


def test_when_spot_is_always_there_starting_on_spot_costs_spot_for_the_work_and_restart() -> None:
    always = SpotOutlook(step_s=1, loss=(0.0,), back=(1.0,))
    T, up = chain(always, 1)
    rho, delta = 0.3, 0.5
    table = Table(T, up, delta, rho, R=20, C=10)
    v = table.at(20, 10, 0)
    assert v["start_spot"] == pytest.approx(rho * (10 + delta), rel=1e-6)
    # on-demand now, then spot for the rest: more than spot now, less than on-demand
    assert v["start_spot"] < v["start_od"] < 10 + delta
    assert v["keep_spot"] == pytest.approx(rho * 10, rel=1e-6)
    # no time: cannot finish
    assert table.at(5, 10, 0)["start_od"] >= INF / 2


def test_spot_gone_for_good_means_on_demand_now() -> None:
    p = problem(job(outlook=NEVER), spot=False)
    assert action(solve(p)) == "on-demand"


def test_plenty_of_slack_and_spot_back_soon_means_waiting() -> None:
    p = problem(job(due_h=70, outlook=GOOD), spot=False)
    plan = solve(p)
    assert action(plan) == "wait"
    # without an outlook the present is all there is: on-demand at once
    assert action(solve(problem(job(due_h=70), spot=False))) == "on-demand"
    # greedy prices the same columns
    assert action(solve_greedy(p)) == "wait"


def test_no_slack_means_on_demand_now_however_good_the_outlook() -> None:
    assert action(solve(problem(job(due_h=48.5, outlook=GOOD), spot=False))) == "on-demand"


def test_spot_there_and_time_to_use_it() -> None:
    plan = solve(problem(job(due_h=70, outlook=GOOD)))
    assert action(plan) == "spot"
    d = plan.decisions["j"]
    # an expected cost to finish: more than spot alone, much less than on-demand
    assert 48 * SPOT.price_micros_per_hour < d.expected_cost_micros
    assert d.expected_cost_micros < 0.6 * 48 * OD.price_micros_per_hour


def test_a_malformed_outlook_changes_nothing() -> None:
    bad = replace(GOOD, loss=(1.5,))
    with_bad = solve(problem(job(outlook=bad), spot=False)).decisions["j"]
    without = solve(problem(job(), spot=False)).decisions["j"]
    assert with_bad == without


def test_ages_matter_a_fresh_outage_is_waited_out_a_long_one_is_not() -> None:
    # blips end fast, long outages last: wait at first, go on-demand once it drags on
    heavy = SpotOutlook(
        step_s=SLOT,
        loss=(0.02, 0.02),
        back=(0.7, 0.001),
        widths=(1,),
        price_micros_per_hour=973_100,
    )
    tight = dict(due_h=50.5)
    fresh = solve(problem(job(outlook=replace(heavy, age_s=SLOT), **tight), spot=False))  # type: ignore[arg-type]
    stale = solve(problem(job(outlook=replace(heavy, age_s=20 * SLOT), **tight), spot=False))  # type: ignore[arg-type]
    assert action(fresh) == "wait"
    assert action(stale) == "on-demand"


def test_keeping_a_node_is_priced_without_a_new_restart() -> None:
    on_od = solve(problem(job(outlook=NEVER, running_on=OD.id), spot=False)).decisions["j"]
    fresh = solve(problem(job(outlook=NEVER), spot=False)).decisions["j"]
    assert on_od.offering_id == OD.id and on_od.start == NOW
    assert on_od.expected_cost_micros < fresh.expected_cost_micros
    assert HOUR == 3600
