"""Uniform Progress, rule by rule, on hand-made states (see the policy's docstring).

The job: 48 h of work due 70 h after it arrived, restart overhead d = 0.2 h, ticks
of 10 minutes. The expected progress line is ``ep(t) = t * 48 / 70``.
"""

from __future__ import annotations

from solver.policies import get
from tests.unit.solver.policies.helpers import NOW, OD, SPOT, action, job, problem

UP = get("uniform-progress")


def decide(*, spot: bool = True, **kw: object) -> str:
    return action(UP(problem(job(**kw), spot=spot), time_limit_s=1.0, hint=None))  # type: ignore[arg-type]


def test_taking_risks_spot_whenever_it_is_there() -> None:
    assert decide(elapsed_h=0) == "spot"
    # far behind the line: still spot when there is spot (the paper's rule 2)
    assert decide(elapsed_h=20, done_h=2) == "spot"


def test_idle_and_on_the_line_waits_for_spot() -> None:
    assert decide(elapsed_h=0, spot=False) == "wait"
    # ahead of ep(10 h) = 6.86 h
    assert decide(elapsed_h=10, done_h=8, spot=False) == "wait"


def test_idle_and_behind_goes_on_demand() -> None:
    assert decide(elapsed_h=10, done_h=5, spot=False) == "on-demand"


def test_hysteresis_stays_on_demand_until_ahead_of_ep_t_plus_2d() -> None:
    # ep(10 h + 0.4 h) = 7.13 h: done 7.0 h is not enough to leave on-demand for spot
    assert decide(elapsed_h=10, done_h=7.0, running_on=OD.id) == "on-demand"
    assert decide(elapsed_h=10, done_h=7.3, running_on=OD.id) == "spot"


def test_on_demand_is_never_left_for_idle() -> None:
    # far ahead, but no spot: keeps the on-demand node
    assert decide(elapsed_h=10, done_h=9.5, running_on=OD.id, spot=False) == "on-demand"


def test_safety_net_on_demand_when_two_restarts_no_longer_fit() -> None:
    # 70 h - 20 h = 50 h left; 49.7 h of work + 2 d = 50.1 h > 50 h: on-demand
    assert decide(elapsed_h=20, done_h=-1.7, spot=True) == "on-demand"
    # one restart of room left is not enough to start on spot from idle either
    assert decide(elapsed_h=20, done_h=-1.5, spot=True) == "on-demand"
    # a little more slack: spot again
    assert decide(elapsed_h=20, done_h=-1.2, spot=True) == "spot"


def test_a_running_spot_node_is_kept_until_preempted_at_the_end() -> None:
    # 0.1 h of slack: less than d, yet the spot node (past its restart) is kept
    assert decide(elapsed_h=20, done_h=-1.9, running_on=SPOT.id) == "spot"
    # still restarting (started 5 min ago): on-demand instead
    assert decide(elapsed_h=20, done_h=-1.9, running_on=SPOT.id, running_since=NOW - 300) == (
        "on-demand"
    )


def test_a_preempted_job_is_idle() -> None:
    # running_on names a spot node that is no longer listed: idle, behind -> on-demand
    assert decide(elapsed_h=10, done_h=5, running_on=SPOT.id, spot=False) == "on-demand"


def test_ep_uses_the_whole_job() -> None:
    # Same remaining work and time left, different histories: UP paces the whole job.
    ahead = job(total_h=48, done_h=10, due_h=70, elapsed_h=10)
    behind = job(total_h=48, done_h=4, due_h=70, elapsed_h=10)
    assert action(UP(problem(ahead, spot=False), time_limit_s=1, hint=None)) == "wait"
    assert action(UP(problem(behind, spot=False), time_limit_s=1, hint=None)) == "on-demand"


def test_many_jobs_one_decision_each() -> None:
    jobs = (
        job(jid="a", elapsed_h=0),
        job(jid="b", elapsed_h=10, done_h=5),
        job(jid="c", elapsed_h=10, done_h=9),
    )
    plan = UP(problem(*jobs, spot=False), time_limit_s=1, hint=None)
    assert set(plan.decisions) == {"a", "b", "c"}
    assert [action(plan, j) for j in "abc"] == ["wait", "on-demand", "wait"]
    assert plan.solver == "uniform-progress"
    assert plan.lower_bound_micros <= plan.objective_micros
