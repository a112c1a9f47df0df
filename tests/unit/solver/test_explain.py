"""``solver.explain``: the chosen placement, its cost parts, and why each rival lost."""

from __future__ import annotations

from dataclasses import replace

import pytest

from solver import (
    Budget,
    Decision,
    Explanation,
    Job,
    Loss,
    Market,
    Offering,
    Plan,
    Problem,
    QuotaPool,
    Unplaced,
    explain,
    solve_greedy,
)

NOW = 1_800_000_000
HOUR = 3600


def at(t: int) -> str:
    """Times relative to now, so the details read plainly in assertions."""
    return f"now+{t - NOW}s"


def offering(
    region: str, market: Market, price: int, *, vcpus: float = 4, hazard: float = 0.0
) -> Offering:
    return Offering(
        id=f"c/{region}/m4/{market}",
        cloud="c",
        region=region,
        zone=f"{region}-a",
        instance_type="m4",
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


def job(jid: str, *, deadline_in: int = 5400, spot: bool = True, tenant: str = "t") -> Job:
    """One hour of work (1.2 h pessimistic); by default only slot 0 is timely."""
    return Job(
        id=jid,
        vcpus=4,
        memory_gib=8,
        runtime_s=HOUR,
        runtime_p_s=int(1.2 * HOUR),
        deadline=NOW + deadline_in,
        spot_allowed=spot,
        restart_overhead_s=120,
        checkpoint_interval_s=600,
        tenant=tenant,
    )


CHEAP = offering("r1", Market.ON_DEMAND, 200_000)
DEAR = offering("r2", Market.ON_DEMAND, 260_000)
# compute = price x 1 h, launch = price x 60 s: 200_000 + 3_333 and 260_000 + 4_333.
CHEAP_COST, DEAR_COST = 203_333, 264_333


def problem(*jobs: Job, offerings: tuple[Offering, ...] = (CHEAP, DEAR), **kw: object) -> Problem:
    pools = (QuotaPool("c/r1/vcpu", 4), QuotaPool("c/r2/vcpu", 16))
    base = Problem(now=NOW, jobs=jobs, offerings=offerings, quota_pools=pools)
    return replace(base, **kw)  # type: ignore[arg-type]


def explained(p: Problem, job_id: str, **kw: int) -> Explanation:
    return explain(p, solve_greedy(p), job_id, time_format=at, **kw)


def test_a_cheaper_offering_whose_pool_another_job_filled_lost_on_quota() -> None:
    p = problem(job("a"), job("b"))
    e = explained(p, "b")
    assert e.decision.offering_id == DEAR.id and e.chosen is not None
    assert (e.chosen.offering_id, e.chosen.start, e.chosen.lost) == (DEAR.id, NOW, None)
    [alt] = e.alternatives
    assert (alt.offering_id, alt.lost, alt.start) == (CHEAP.id, Loss.QUOTA, NOW)
    assert alt.detail == "pool c/r1/vcpu is full at now+0s (needs 4, 0 free)"
    assert alt.expected_cost_micros == CHEAP_COST
    assert (e.considered, e.not_fitting) == (2, 0)


def test_quota_names_the_first_slot_the_node_would_be_held_without_room() -> None:
    # Free now, gone an hour from now: a 1.2 h node started now is held in both slots.
    pools = (QuotaPool("c/r1/vcpu", 4, free_by_slot=(4, 0)), QuotaPool("c/r2/vcpu", 16))
    e = explained(problem(job("a"), quota_pools=pools), "a")
    assert e.decision.offering_id == DEAR.id
    [alt] = e.alternatives
    assert alt.lost is Loss.QUOTA
    assert alt.detail == "pool c/r1/vcpu is full at now+3600s (needs 4, 0 free)"


def test_a_costlier_offering_lost_on_price_by_the_exact_difference() -> None:
    e = explained(problem(job("a"), job("b")), "a")
    assert e.chosen is not None and e.chosen.offering_id == CHEAP.id
    [alt] = e.alternatives
    assert (alt.offering_id, alt.lost) == (DEAR.id, Loss.PRICE)
    assert alt.expected_cost_micros - e.chosen.expected_cost_micros == DEAR_COST - CHEAP_COST
    assert alt.detail == "costs $0.061000 more"


def test_price_also_mentions_a_full_pool_and_an_equal_price_blocked_is_quota() -> None:
    pricey = replace(CHEAP, id="c/r1/m8/on-demand", price_micros_per_hour=300_000)
    same = replace(CHEAP, id="c/r1/m4x/on-demand", price_micros_per_hour=260_000)
    p = problem(job("a"), job("b"), offerings=(CHEAP, DEAR, same, pricey))
    e = explained(p, "b")  # a holds r1's pool, b went to r2
    assert e.chosen is not None and e.chosen.offering_id == DEAR.id
    assert [(o.offering_id, o.lost) for o in e.alternatives] == [
        (CHEAP.id, Loss.QUOTA),
        (same.id, Loss.QUOTA),  # the same price as b's choice, and r1 is full
        (pricey.id, Loss.PRICE),
    ]
    assert e.alternatives[2].detail == (
        "costs $0.040667 more (also: pool c/r1/vcpu is full at now+0s (needs 4, 0 free))"
    )
    e = explained(p, "a")
    assert {o.lost for o in e.alternatives} == {Loss.PRICE}
    assert not any("also" in o.detail for o in e.alternatives)


def test_spot_without_slack_for_a_fallback_lost_on_deadline() -> None:
    spot = offering("r1", Market.SPOT, 60_000, hazard=0.1)
    # On-demand ends at +4380 s; spot also needs 600 + 120 + 60 s for a fallback.
    p = problem(job("a", deadline_in=4500), offerings=(CHEAP, spot))
    e = explained(p, "a")
    assert e.decision.offering_id == CHEAP.id
    [alt] = e.alternatives
    assert (alt.offering_id, alt.lost, alt.start) == (spot.id, Loss.DEADLINE, NOW)
    assert alt.detail == (
        "cannot finish by the deadline at its pessimistic runtime; spot also needs room "
        "for a fallback (ends now+5160s at the earliest, deadline now+4500s)"
    )
    assert alt.expected_cost_micros < e.decision.expected_cost_micros


def test_on_demand_too_slow_and_spot_not_allowed() -> None:
    spot = offering("r1", Market.SPOT, 60_000, hazard=0.1)
    slow = replace(DEAR, launch_delay_s=1200)  # ends at +5520 s > +5400 s
    e = explained(problem(job("a", spot=False), offerings=(CHEAP, spot, slow)), "a")
    assert e.decision.offering_id == CHEAP.id
    assert [(o.offering_id, o.lost) for o in e.alternatives] == [
        (spot.id, Loss.MARKET),
        (slow.id, Loss.DEADLINE),
    ]
    assert e.alternatives[0].detail == "spot not allowed for this job"
    assert "spot also needs" not in e.alternatives[1].detail


def test_budget_left_by_the_other_jobs_is_named() -> None:
    budget = Budget("t", limit_micros=300_000, window_start=NOW, window_end=NOW + 24 * HOUR)
    p = problem(job("a"), job("b"), budgets=(budget,))
    plan = solve_greedy(p)
    assert plan.decisions["a"].offering_id == CHEAP.id
    assert plan.decisions["b"].reason is Unplaced.BUDGET
    e = explain(p, plan, "b", time_format=at)
    assert e.chosen is None
    assert [(o.offering_id, o.lost) for o in e.alternatives] == [
        (CHEAP.id, Loss.QUOTA),  # a holds r1's pool: quota is checked first
        (DEAR.id, Loss.BUDGET),
    ]
    assert e.alternatives[1].detail == (
        "tenant t's budget has $0.096667 left in that window (now+0s to now+86400s); "
        "this needs $0.264333"
    )


def test_another_tenants_budget_does_not_block() -> None:
    budget = Budget("other", limit_micros=1, window_start=NOW, window_end=NOW + 24 * HOUR)
    e = explained(problem(job("a"), budgets=(budget,)), "a")
    assert e.decision.offering_id == CHEAP.id
    assert [o.lost for o in e.alternatives] == [Loss.PRICE]


def test_breakdown_parts_sum_to_the_decisions_expected_cost() -> None:
    spot = offering("r1", Market.SPOT, 60_000, hazard=0.2)
    far = replace(job("a", deadline_in=10 * HOUR), data_location="c:r2", data_gb=10)
    p = problem(far, offerings=(CHEAP, spot, DEAR))
    e = explained(p, "a")
    assert e.chosen is not None and e.chosen.offering_id == spot.id
    b = e.chosen.breakdown
    assert b.compute > 0 and b.rework > 0 and b.egress == 200_000 and b.launch > 0
    assert b.total == b.compute + b.rework + b.egress + b.launch
    assert b.total == e.decision.expected_cost_micros
    for alt in e.alternatives:
        assert alt.breakdown.total == alt.expected_cost_micros
    # Data in r2 makes r2 free of egress, cheaper than r1 on-demand after all.
    assert [o.offering_id for o in e.alternatives] == [DEAR.id, CHEAP.id]


def test_each_job_is_priced_at_its_own_cost_even_among_near_twins() -> None:
    jobs = [replace(job(f"j{k}", deadline_in=10 * HOUR), runtime_s=HOUR + 60 * k) for k in range(3)]
    p = problem(*jobs, offerings=(CHEAP, DEAR, offering("r3", Market.SPOT, 90_000, hazard=0.1)))
    plan = solve_greedy(p)
    for j in jobs:
        e = explain(p, plan, j.id)
        assert e.chosen is not None
        assert e.chosen.breakdown.total == plan.decisions[j.id].expected_cost_micros


def test_alternatives_cheapest_first_capped_and_the_unfitting_counted() -> None:
    tiny = offering("r1", Market.ON_DEMAND, 1_000, vcpus=2)
    spot = offering("r2", Market.SPOT, 50_000, hazard=0.1)
    mid = offering("r3", Market.ON_DEMAND, 230_000)
    p = problem(job("a", deadline_in=10 * HOUR), offerings=(CHEAP, DEAR, tiny, spot, mid))
    e = explained(p, "a")
    assert e.chosen is not None and e.chosen.offering_id == spot.id
    assert (e.considered, e.not_fitting) == (4, 1)
    assert [o.offering_id for o in e.alternatives] == [CHEAP.id, mid.id, DEAR.id]
    assert all(o.lost is Loss.PRICE for o in e.alternatives)
    assert [o.offering_id for o in explained(p, "a", alternatives=1).alternatives] == [CHEAP.id]
    assert explained(p, "a", alternatives=0).alternatives == ()


def test_a_tie_is_called_a_tie() -> None:
    twin = replace(CHEAP, id="c/r2/m4/on-demand", region="r2", quota_draw=DEAR.quota_draw)
    e = explained(problem(job("a"), offerings=(CHEAP, twin)), "a")
    [alt] = e.alternatives
    assert alt.lost is Loss.PRICE and alt.detail == "costs the same as the chosen placement (a tie)"


def test_a_late_job_explains_why_nothing_was_timely() -> None:
    p = problem(job("a", deadline_in=HOUR))  # 1.2 h pessimistic: nothing is on time
    e = explained(p, "a")
    assert e.decision.late and e.chosen is not None
    assert e.chosen.detail.startswith("placed late")
    assert [o.lost for o in e.alternatives] == [Loss.DEADLINE]


def test_a_hand_built_plan_is_explained_as_given() -> None:
    p = problem(job("a"), job("b"))
    plan = Plan(
        decisions={
            "a": Decision("a", DEAR.id, NOW, DEAR_COST),
            "b": Decision("b", CHEAP.id, NOW, CHEAP_COST),
        },
        objective_micros=CHEAP_COST + DEAR_COST,
        lower_bound_micros=CHEAP_COST + DEAR_COST,
        solver="hand",
    )
    e = explain(p, plan, "a", time_format=at)
    assert [(o.offering_id, o.lost) for o in e.alternatives] == [(CHEAP.id, Loss.QUOTA)]


def test_a_place_the_solver_missed_is_told_plainly() -> None:
    p = problem(job("a"))
    dear = Plan({"a": Decision("a", DEAR.id, NOW, DEAR_COST)}, DEAR_COST, 0, solver="hand")
    [alt] = explain(p, dear, "a").alternatives
    assert (alt.offering_id, alt.lost) == (CHEAP.id, Loss.PRICE)
    assert alt.detail == "costs $0.061000 less and has room, but the solver did not choose it"
    none = Plan({"a": Decision("a", None, None, reason=Unplaced.QUOTA_FULL)}, 0, 0, solver="hand")
    e = explain(p, none, "a")
    assert e.chosen is None
    assert {o.detail for o in e.alternatives} == {
        "has room for this job, but the solver did not place it here"
    }


def test_bad_requests_raise() -> None:
    p = problem(job("a"))
    plan = solve_greedy(p)
    with pytest.raises(KeyError):
        explain(p, plan, "nope")
    with pytest.raises(ValueError, match="alternatives"):
        explain(p, plan, "a", alternatives=-1)
    wrong = replace(plan, decisions={"a": Decision("a", "c/r9/x/on-demand", NOW, 1)})
    with pytest.raises(ValueError, match="not a placement the problem offers"):
        explain(p, wrong, "a")


def test_inputs_are_not_mutated() -> None:
    p = problem(job("a"), job("b"))
    plan = solve_greedy(p)
    before = (p, dict(plan.decisions))
    explain(p, plan, "b")
    explain(p, plan, "b")
    assert (p, dict(plan.decisions)) == before
