"""Every registered policy on random small problems (:mod:`tests.unit.solver.strategies`):
one decision per job, no exception on degenerate problems, placements that exist,
fit and respect every quota and budget, on-demand never on spot, spot-only never on
on-demand. The optimizer's own rules are checked in ``tests/unit/solver``; here the
same checks also run with jobs that run on a node now and carry a spot outlook."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import replace

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from solver import Market, Plan, Problem
from solver.model import SpotOutlook
from solver.policies import POLICIES
from tests.unit.solver import referee
from tests.unit.solver.strategies import edge_problems, problems

CHECKS = settings(
    derandomize=True,
    database=None,
    deadline=None,
    max_examples=120,
    phases=tuple(p for p in Phase if p is not Phase.shrink),
    suppress_health_check=[HealthCheck.too_slow],
)


def assert_sound(name: str, p: Problem, plan: Plan) -> None:
    jobs = {j.id: j for j in p.jobs}
    offs = {o.id: o for o in p.offerings}
    assert set(plan.decisions) == set(jobs), name
    assert plan.lower_bound_micros <= plan.objective_micros, name
    usage: dict[tuple[str, int], float] = defaultdict(float)
    spent = [0] * len(p.budgets)
    for jid, d in plan.decisions.items():
        assert d.job_id == jid
        if not d.placed:
            assert d.reason is not None and d.start is None, (name, d)
            continue
        off = offs.get(d.offering_id or "")
        assert off is not None, (name, d)
        job = jobs[jid]
        assert referee.fits(job, off), (name, d)
        assert d.start is not None and d.start >= p.now, (name, d)
        assert (d.start - p.now) % p.slot_s == 0, (name, d)
        if off.market is Market.SPOT:
            assert job.spot_allowed, (name, d)
        if name == "on-demand":
            assert off.market is Market.ON_DEMAND, d
        if name == "spot-only":
            assert off.market is Market.SPOT, d
        t = (d.start - p.now) // p.slot_s
        if t >= p.horizon_slots:
            continue
        for pool, amount in off.quota_draw:
            for s in range(t, min(p.horizon_slots, t + referee.hold_slots(p, job, off))):
                usage[pool, s] += amount
        for b, budget in enumerate(p.budgets):
            if budget.tenant == job.tenant and budget.window_start <= d.start < budget.window_end:
                spent[b] += d.expected_cost_micros
    for qp in p.quota_pools:
        for s in range(p.horizon_slots):
            assert usage[qp.id, s] <= qp.free_in(s) + 1e-6, (name, qp.id, s)
    # heuristic plans keep budgets at each job's class cost; allow rounding per job
    for b, budget in enumerate(p.budgets):
        assert spent[b] <= budget.limit_micros + 4 * len(p.jobs), (name, budget, spent[b])


@CHECKS
@given(edge_problems())
def test_every_policy_decides_every_job_soundly(p: Problem) -> None:
    for name, policy in POLICIES.items():
        assert_sound(name, p, policy(p, time_limit_s=0.5, hint=None))


@st.composite
def running_and_outlook(draw: st.DrawFn) -> Problem:
    """Random problems whose jobs sometimes run on one of the offerings now and carry
    a spot outlook; some offerings made unavailable (dropped), as a simulator would."""
    p = draw(problems())
    jobs = []
    for j in p.jobs:
        running = ""
        if draw(st.booleans()) and p.offerings:
            running = draw(st.sampled_from([o.id for o in p.offerings]))
        outlook = None
        if draw(st.booleans()):
            outlook = SpotOutlook(
                step_s=p.slot_s,
                loss=tuple(
                    draw(st.lists(st.sampled_from([0.0, 0.05, 0.3, 1.0]), min_size=2, max_size=2))
                ),
                back=tuple(
                    draw(st.lists(st.sampled_from([0.0, 0.1, 0.6, 1.0]), min_size=2, max_size=2))
                ),
                widths=(draw(st.integers(1, 3)),),
                age_s=draw(st.sampled_from([0, p.slot_s, 10 * p.slot_s])),
                price_micros_per_hour=draw(st.sampled_from([0, 50_000])),
            )
        since = draw(st.sampled_from([0, p.now - 60, p.now - 3 * p.slot_s]))
        jobs.append(replace(j, running_on=running, running_since=since, spot_outlook=outlook))
    keep = [o for o in p.offerings if draw(st.integers(0, 4)) > 0]
    return replace(p, jobs=tuple(jobs), offerings=tuple(keep))


@CHECKS
@given(running_and_outlook())
def test_running_nodes_and_outlooks_keep_plans_sound(p: Problem) -> None:
    for name, policy in POLICIES.items():
        plan = policy(p, time_limit_s=0.5, hint=None)
        assert_sound(name, p, plan)
        if name in ("optimizer", "greedy"):
            # a placement in time still ends by the deadline (keeping a node: what is
            # left of its launch), spot with room for a preemption and a fallback
            offs = {o.id: o for o in p.offerings}
            for d in plan.decisions.values():
                if not d.placed or d.late or d.start is None:
                    continue
                job = next(j for j in p.jobs if j.id == d.job_id)
                off = offs[d.offering_id or ""]
                launch = off.launch_delay_s
                if job.running_on == off.id and d.start == p.now:
                    left = job.running_since + launch - p.now if job.running_since else 0
                    launch = min(launch, max(0, left))
                end = d.start + launch + job.runtime_p_s
                if off.market is Market.SPOT:
                    end += job.checkpoint_interval_s + job.restart_overhead_s + off.launch_delay_s
                assert end <= job.deadline, (name, d, job)
