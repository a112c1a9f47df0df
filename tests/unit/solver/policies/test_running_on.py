"""``Job.running_on``: keeping the node a job runs on costs no new launch."""

from __future__ import annotations

from dataclasses import replace

from solver import solve, solve_greedy
from solver.instance import compile_problem, start_delay
from tests.unit.solver.policies.helpers import HOUR, NOW, OD, SPOT, D, action, job, problem


def test_the_running_node_has_no_launch_delay_in_slot_0_only() -> None:
    p = problem(job(running_on=OD.id))
    inst = compile_problem(p)
    cls = inst.classes[0]
    delay = start_delay(inst, [cls.job], cls.offs)[0]
    od = [inst.offering_ids[o] for o in cls.offs].index(OD.id)
    spot = 1 - od
    assert delay[od, 0] == 0
    assert (delay[od, 1:] == D).all()
    assert (delay[spot] == D).all()


def test_a_node_still_launching_keeps_only_what_is_left() -> None:
    p = problem(job(running_on=OD.id, running_since=NOW - 300))
    inst = compile_problem(p)
    cls = inst.classes[0]
    od = [inst.offering_ids[o] for o in cls.offs].index(OD.id)
    assert start_delay(inst, [cls.job], cls.offs)[0, od, 0] == D - 300


def test_keeping_costs_less_and_meets_a_deadline_a_restart_would_miss() -> None:
    # 48 h of work, 48.1 h to go: a new launch (0.2 h) would be late, keeping is not
    tight = job(due_h=48.1, running_on=OD.id)
    plan = solve(problem(tight, spot=False))
    d = plan.decisions["j"]
    assert d.offering_id == OD.id and d.start == NOW and not d.late
    assert d.expected_cost_micros == round(OD.price_micros_per_hour * 48)
    fresh = solve(problem(replace(tight, running_on=""), spot=False)).decisions["j"]
    assert fresh.late


def test_a_spot_job_keeps_its_spot_node_rather_than_relaunching() -> None:
    for policy in (solve, solve_greedy):
        plan = policy(problem(job(running_on=SPOT.id)))
        assert action(plan) == "spot"
        assert plan.decisions["j"].expected_cost_micros < 48 * SPOT.price_micros_per_hour * 1.01
    assert HOUR == 3600
