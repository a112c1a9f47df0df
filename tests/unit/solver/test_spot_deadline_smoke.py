"""The spot-and-deadline benchmark's harness on synthetic traces (never the shared
data): the omniscient optimum is exact and bounds every policy that meets the
deadline; on-demand costs exactly 1.0 normalized; ours, Uniform Progress and on-demand
never miss; spot-only may. Also the round-robin view and the summaries."""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np
import pytest

from benchmarks.spot_deadline import run
from benchmarks.spot_deadline.omniscient import omniscient_cost
from benchmarks.spot_deadline.sim import (
    EPOCH,
    JOB_ID,
    Case,
    History,
    RoundRobin,
    Setting,
    Zone,
    offerings,
    on_demand_cost,
    simulate,
    window,
)
from solver import Decision, Offering, Plan, Problem
from solver.policies import Policy

GAP = 600


def markov(rng: np.random.Generator, n: int, lose: float, back: float) -> np.ndarray:
    out = np.empty(n, dtype=bool)
    up = True
    for k in range(n):
        out[k] = up
        up = rng.random() >= lose if up else rng.random() < back
    return out


def setting(zones: int = 1, seed: int = 0, n: int = 2000) -> Setting:
    rng = np.random.default_rng(seed)
    return Setting(
        name=f"synthetic {zones}",
        zones=tuple(
            Zone(f"xx-test-{k + 1}{'abc'[k % 3]}", markov(rng, n, 0.08, 0.25)) for k in range(zones)
        ),
        gap_s=GAP,
        instance_type="p3.2xlarge",
        gpu_type="V100",
        od_micros_per_hour=3_060_000,
        spot_micros_per_hour=973_100,
    )


def scripted(actions: tuple[str, ...], spot_id: str, od_id: str) -> Policy:
    """A policy that plays a fixed list of actions (spot when it is listed)."""

    def policy(problem: Problem, *, time_limit_s: float, hint: Plan | None) -> Plan:
        k = (problem.now - EPOCH) // problem.slot_s
        want = actions[k] if k < len(actions) else "od"
        listed = {o.id for o in problem.offerings}
        target = {"spot": spot_id, "od": od_id}.get(want)
        if target not in listed:
            target = None
        start = problem.now if target else None
        d = Decision(JOB_ID, target, start)
        return Plan({JOB_ID: d}, 0, 0, solver="script")

    return policy


@pytest.mark.parametrize(("overhead", "ticks", "work"), [(300, 6, 1800), (720, 6, 1200)])
def test_the_omniscient_optimum_is_the_best_of_all_action_sequences(
    overhead: int, ticks: int, work: int
) -> None:
    s = setting(seed=3, n=60)
    case = Case(work_s=work, deadline_s=ticks * GAP, overhead_s=overhead)
    zone = s.zones[0].name
    spot_id, od_id = f"{zone}/p3.2xlarge/spot", f"{zone}/p3.2xlarge/on-demand"
    for start in (0, 7, 20):
        best = np.inf
        for seq in itertools.product(("none", "od", "spot"), repeat=ticks):
            out = simulate(
                scripted(seq, spot_id, od_id), s, case, start, outlook=False, horizon_slots=2
            )
            if not out.missed:
                best = min(best, out.cost_micros)
        dp = omniscient_cost(
            window(s, start, ticks),
            gap_s=GAP,
            overhead_s=overhead,
            work_s=work,
            deadline_ticks=ticks,
            od_per_hour=s.od_micros_per_hour,
            spot_per_hour=s.spot_micros_per_hour,
        )
        assert dp == pytest.approx(best, rel=1e-9)


def test_policies_on_synthetic_traces_keep_the_invariants() -> None:
    s = setting(seed=1)
    run._init([s])
    cases = [Case(6 * 3600, 8 * 3600, 360), Case(6 * 3600, 12 * 3600, 1440)]
    rows = [run.run_one((s.name, c, start, run.SINGLE)) for c in cases for start in (0, 700, 1500)]
    for row in rows:
        best = row["omniscient"]
        for label, p in row["policies"].items():
            if not p["missed"]:
                assert best <= p["cost"] + 1e-9, (label, row["start"])
        assert row["policies"]["on-demand"]["cost"] == pytest.approx(1.0)
        for label in (run.OURS, run.UP, "on-demand", "greedy", "optimizer (no outlook)"):
            assert not row["policies"][label]["missed"], (label, row["start"])
    cells = run.summarize(rows, run.SINGLE)
    assert len(cells) == 2 and all(c["runs"] == 3 for c in cells)
    goals = run.goals(cells, [])
    assert len(goals) == 2 and all("pass" in g for g in goals)
    assert run.tables(cells, [])


def test_several_zones_and_the_round_robin_view() -> None:
    s = setting(zones=3, seed=2)
    run._init([s])
    row = run.run_one((s.name, Case(4 * 3600, 6 * 3600, 360), 100, run.MULTI))
    assert (
        row["omniscient"]
        <= min(p["cost"] for p in row["policies"].values() if not p["missed"]) + 1e-9
    )
    for label in (run.OURS, run.UP, run.UP_ANY, "on-demand"):
        assert not row["policies"][label]["missed"], label
    view = RoundRobin([z.name for z in s.zones])
    od = replace(_offering(s, 0), id="od0")
    p = Problem(now=EPOCH, jobs=(), offerings=(od, replace(od, id="x", zone=s.zones[1].name)))
    assert [o.id for o in view.show(p, "").offerings] == ["od0"]
    view.after([False, True, True])
    assert view.home == 1
    assert [o.id for o in view.show(p, "od0").offerings] == ["od0", "x"]
    view.after([False, True, True])
    assert view.home == 1


def test_on_demand_cost_and_history_estimates() -> None:
    s = setting(seed=4)
    case = Case(3600, 7200, 360)
    assert on_demand_cost(s, case) == pytest.approx(3_060_000 * (3600 + 360) / 3600)
    h = History(s)
    loss, back = h.outlook(500)
    assert len(loss) == len(back) == len(h.widths()) + 1
    assert all(0 <= x <= 1 for x in (*loss, *back))
    assert 0 < h.hazard_per_hour(0, 500, 400) < 50
    assert h.age_s(0) == GAP


def _offering(s: Setting, z: int) -> Offering:
    return offerings(s, Case(3600, 7200, 0))[0][z]
