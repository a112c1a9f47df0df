"""The greedy policy: cheapest timely offering, EDF order, quotas, slack rule for spot."""

from __future__ import annotations

from dataclasses import replace

from solver import Job, Market, Offering, Problem, QuotaPool, Unplaced, solve
from solver.costing import expected_cost_micros

NOW = 1_000_000


def offering(
    name: str,
    market: Market,
    price: int,
    *,
    region: str = "r1",
    vcpus: float = 4,
    hazard: float = 0.0,
) -> Offering:
    return Offering(
        id=f"c/{region}/{name}/{market}",
        cloud="c",
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
        quota_draw=((f"c/{region}/vcpu", vcpus),),
    )


def job(
    jid: str, *, deadline_in: int = 36_000, runtime: int = 3600, spot: bool = True, vcpus: float = 2
) -> Job:
    return Job(
        id=jid,
        vcpus=vcpus,
        memory_gib=4,
        gpu_count=0,
        gpu_type="",
        runtime_s=runtime,
        runtime_p_s=int(runtime * 1.2),
        deadline=NOW + deadline_in,
        earliest_start=0,
        spot_allowed=spot,
        restart_overhead_s=120,
        checkpoint_interval_s=600,
    )


OD = offering("m4", Market.ON_DEMAND, 200_000)
SPOT = offering("m4", Market.SPOT, 60_000, hazard=0.1)
POOLS = (QuotaPool("c/r1/vcpu", 16),)


def test_cheapest_timely_offering_wins() -> None:
    plan = solve(Problem(NOW, (job("a"),), (OD, SPOT), POOLS))
    assert plan.decisions["a"].offering_id == SPOT.id
    assert plan.decisions["a"].expected_cost_micros == expected_cost_micros(job("a"), SPOT)
    assert plan.lower_bound_micros <= plan.objective_micros


def test_spot_not_allowed_goes_on_demand() -> None:
    plan = solve(Problem(NOW, (job("a", spot=False),), (OD, SPOT), POOLS))
    assert plan.decisions["a"].offering_id == OD.id


def test_tight_slack_moves_spot_job_to_on_demand() -> None:
    # 1.2 h pessimistic + 60 s launch fits in 1.3 h; a preemption fallback does not.
    tight = job("a", deadline_in=int(3600 * 1.3))
    plan = solve(Problem(NOW, (tight,), (OD, SPOT), POOLS))
    assert plan.decisions["a"].offering_id == OD.id


def test_quota_is_never_exceeded_and_edf_gets_the_room() -> None:
    jobs = (job("late", deadline_in=50_000), job("soon", deadline_in=20_000))
    plan = solve(Problem(NOW, jobs, (OD,), (QuotaPool("c/r1/vcpu", 4),)))
    assert plan.decisions["soon"].placed
    assert plan.decisions["late"].reason is Unplaced.QUOTA_FULL


def test_reasons_for_unplaceable_jobs() -> None:
    plan = solve(
        Problem(
            NOW,
            (job("huge", vcpus=64), replace(job("future"), earliest_start=NOW + 10)),
            (OD, SPOT),
            POOLS,
        )
    )
    assert plan.decisions["huge"].reason is Unplaced.NO_OFFERING
    assert plan.decisions["future"].reason is Unplaced.NOT_YET


def test_a_job_past_hope_runs_late_on_demand_rather_than_never() -> None:
    hopeless = job("a", deadline_in=600)
    plan = solve(Problem(NOW, (hopeless,), (OD, SPOT), POOLS))
    d = plan.decisions["a"]
    assert d.placed and d.late and d.offering_id == OD.id
    assert d.reason is Unplaced.DEADLINE_IMPOSSIBLE


def test_same_input_same_plan() -> None:
    jobs = tuple(job(f"j{i}", deadline_in=20_000 + i) for i in range(10))
    offers = (OD, SPOT, offering("m8", Market.SPOT, 90_000, vcpus=8, hazard=0.05))
    p1 = solve(Problem(NOW, jobs, offers, POOLS))
    p2 = solve(Problem(NOW, jobs, offers, POOLS), hint=p1)
    assert p1.decisions == p2.decisions
