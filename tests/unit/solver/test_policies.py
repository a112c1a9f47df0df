"""Both policies (optimizer and greedy baseline) on small problems with one right answer."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from solver import (
    Budget,
    EgressPrice,
    Job,
    Market,
    Offering,
    Plan,
    Problem,
    QuotaPool,
    Unplaced,
    solve,
    solve_greedy,
)

NOW = 1_800_000_000
HOUR = 3600


def offering(
    name: str,
    market: Market,
    price: int,
    *,
    region: str = "r1",
    cloud: str = "c",
    vcpus: float = 4,
    hazard: float = 0.0,
) -> Offering:
    return Offering(
        id=f"{cloud}/{region}/{name}/{market}",
        cloud=cloud,
        region=region,
        zone=f"{region}-a",
        instance_type=name,
        market=market,
        vcpus=vcpus,
        memory_gib=vcpus * 4,
        gpu_count=0,
        gpu_type="",
        price_micros_per_hour=price,
        hazard_per_hour=hazard,
        launch_delay_s=60,
        quota_draw=((f"{cloud}/{region}/vcpu", vcpus),),
    )


def job(
    jid: str,
    *,
    deadline_in: int = 10 * HOUR,
    runtime: int = HOUR,
    spot: bool = True,
    vcpus: float = 2,
) -> Job:
    return Job(
        id=jid,
        vcpus=vcpus,
        memory_gib=4,
        runtime_s=runtime,
        runtime_p_s=int(runtime * 1.2),
        deadline=NOW + deadline_in,
        spot_allowed=spot,
        restart_overhead_s=120,
        checkpoint_interval_s=600,
    )


OD = offering("m4", Market.ON_DEMAND, 200_000)
SPOT = offering("m4", Market.SPOT, 60_000, hazard=0.1)
POOLS = (QuotaPool("c/r1/vcpu", 16),)

Policy = Callable[[Problem], Plan]
POLICIES: dict[str, Policy] = {
    "optimizer": lambda p: solve(p, time_limit_s=2.0),
    "greedy": solve_greedy,
}


@pytest.fixture(params=sorted(POLICIES))
def policy(request: pytest.FixtureRequest) -> Policy:
    return POLICIES[request.param]


def spot_cost(j: Job, off: Offering) -> int:
    """The documented formula, computed by hand: compute + launch + rework."""
    price = off.price_micros_per_hour
    compute = round(price * j.runtime_s / HOUR)
    launch = round(price * off.launch_delay_s / HOUR)
    lost_h = (j.checkpoint_interval_s / 2 + j.restart_overhead_s) / HOUR
    rework = round(price * off.hazard_per_hour * (j.runtime_s / HOUR) * lost_h)
    return compute + launch + rework


def test_cheapest_timely_offering_wins(policy: Policy) -> None:
    plan = policy(Problem(NOW, (job("a"),), (OD, SPOT), POOLS))
    d = plan.decisions["a"]
    assert (d.offering_id, d.start) == (SPOT.id, NOW)
    assert d.expected_cost_micros == spot_cost(job("a"), SPOT)
    assert plan.lower_bound_micros <= plan.objective_micros == d.expected_cost_micros


def test_spot_not_allowed_goes_on_demand(policy: Policy) -> None:
    plan = policy(Problem(NOW, (job("a", spot=False),), (OD, SPOT), POOLS))
    assert plan.decisions["a"].offering_id == OD.id


def test_tight_slack_moves_spot_job_to_on_demand(policy: Policy) -> None:
    # 1.2 h pessimistic + 60 s launch fits in 1.3 h; a preemption fallback does not.
    tight = job("a", deadline_in=int(HOUR * 1.3))
    plan = policy(Problem(NOW, (tight,), (OD, SPOT), POOLS))
    assert plan.decisions["a"].offering_id == OD.id


def test_a_full_pool_pushes_the_later_deadline_to_a_later_slot(policy: Policy) -> None:
    jobs = (job("late", deadline_in=14 * HOUR), job("soon", deadline_in=3 * HOUR))
    plan = policy(Problem(NOW, jobs, (OD,), (QuotaPool("c/r1/vcpu", 4),)))
    soon, late = plan.decisions["soon"], plan.decisions["late"]
    assert soon.start == NOW
    # the node is held launch + 1.2 h -> two 1 h slots; the next job starts after them
    assert late.placed and late.start == NOW + 2 * HOUR


def test_no_room_in_the_horizon_is_quota_full_until_the_horizon_end(policy: Policy) -> None:
    jobs = (job("a"), job("b"))
    problem = Problem(NOW, jobs, (OD,), (QuotaPool("c/r1/vcpu", 4),), horizon_slots=2)
    plan = policy(problem)
    waiting = [d for d in plan.decisions.values() if not d.placed]
    assert len(waiting) == 1
    assert waiting[0].reason is Unplaced.QUOTA_FULL
    assert waiting[0].until == problem.horizon_end


def test_reasons_for_unplaceable_jobs(policy: Policy) -> None:
    far = replace(job("future"), earliest_start=NOW + 100 * HOUR, deadline=NOW + 200 * HOUR)
    plan = policy(Problem(NOW, (job("huge", vcpus=64), far), (OD, SPOT), POOLS))
    assert plan.decisions["huge"].reason is Unplaced.NO_OFFERING
    assert plan.decisions["future"].reason is Unplaced.NOT_YET


def test_earliest_start_is_respected(policy: Policy) -> None:
    later = replace(job("a"), earliest_start=NOW + 3 * HOUR)
    plan = policy(Problem(NOW, (later,), (OD, SPOT), POOLS))
    assert plan.decisions["a"].start == NOW + 3 * HOUR


def test_a_job_past_hope_runs_late_on_demand_rather_than_never(policy: Policy) -> None:
    plan = policy(Problem(NOW, (job("a", deadline_in=600),), (OD, SPOT), POOLS))
    d = plan.decisions["a"]
    assert d.placed and d.late and d.offering_id == OD.id
    assert d.reason is Unplaced.DEADLINE_IMPOSSIBLE
    # a late job pays the penalty in the objective, and so does the bound
    assert plan.objective_micros == plan.lower_bound_micros == 10**12
    assert plan.gap == 0.0


def test_budget_stops_placement_with_its_reason(policy: Policy) -> None:
    a = replace(job("a", spot=False), tenant="t")
    budget = Budget("t", limit_micros=100_000, window_start=NOW, window_end=NOW + 24 * HOUR)
    plan = policy(Problem(NOW, (a,), (OD,), POOLS, budgets=(budget,)))
    assert plan.decisions["a"].reason is Unplaced.BUDGET


def test_egress_moves_a_job_to_its_data(policy: Policy) -> None:
    near = offering("m4", Market.ON_DEMAND, 210_000, region="r2")
    pools = (*POOLS, QuotaPool("c/r2/vcpu", 16))
    heavy = replace(job("a"), data_location="c:r2", data_gb=100)
    egress = (EgressPrice("c:r2", "c:r1", 20_000),)
    plan = policy(Problem(NOW, (heavy,), (OD, near), pools, egress=egress))
    assert plan.decisions["a"].offering_id == near.id
    light = replace(heavy, data_gb=0.0)
    assert policy(Problem(NOW, (light,), (OD, near), pools)).decisions["a"].offering_id == OD.id


def test_optimizer_beats_greedy_when_greedy_takes_the_wrong_pool() -> None:
    # Greedy serves the job with the earlier latest start first ("wide", which is happy
    # anywhere) and hands it the cheap pool, so "narrow", which may only use r1, is left
    # out. The optimizer sends "wide" to r2.
    r2 = offering("m4", Market.ON_DEMAND, 220_000, region="r2")
    wide = job("wide", deadline_in=2 * HOUR)
    narrow = replace(job("narrow", deadline_in=2 * HOUR + 60), allowed_regions=frozenset({"r1"}))
    pools = (QuotaPool("c/r1/vcpu", 4), QuotaPool("c/r2/vcpu", 4))
    problem = Problem(NOW, (wide, narrow), (OD, r2), pools)
    greedy, best = solve_greedy(problem), solve(problem)
    assert not greedy.decisions["narrow"].placed
    assert best.decisions["narrow"].offering_id == OD.id
    assert best.decisions["wide"].offering_id == r2.id
    assert best.objective_micros < greedy.objective_micros
    assert best.gap == pytest.approx(0.0, abs=1e-4)


def test_identical_jobs_form_one_class_and_fill_the_pool() -> None:
    jobs = tuple(job(f"j{i}") for i in range(6))
    plan = solve(Problem(NOW, jobs, (OD, SPOT), (QuotaPool("c/r1/vcpu", 16),)))
    assert plan.stats["classes"] == 1
    starts_now = [d for d in plan.decisions.values() if d.start == NOW]
    assert len(starts_now) == 4  # 16 vCPUs / 4 per node


def test_same_input_same_plan_and_the_hint_keeps_it() -> None:
    jobs = tuple(job(f"j{i}", deadline_in=5 * HOUR + i) for i in range(10))
    offers = (OD, SPOT, offering("m8", Market.SPOT, 90_000, vcpus=8, hazard=0.05))
    p1 = solve(Problem(NOW, jobs, offers, POOLS))
    p2 = solve(Problem(NOW, jobs, offers, POOLS))
    assert p1.decisions == p2.decisions
    p3 = solve(Problem(NOW, jobs, offers, POOLS), hint=p1)
    assert p3.decisions == p1.decisions
    assert p3.warm is not None and p3.warm.columns


def test_an_empty_problem_is_an_empty_plan(policy: Policy) -> None:
    plan = policy(Problem(NOW, (), (), ()))
    assert plan.decisions == {} and plan.objective_micros == 0 == plan.gap
