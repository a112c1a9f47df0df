"""``ExplainJob``'s server side without a server: which jobs are explained, the notes
for the others, and the protobuf round trip."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import solver
from scheduler.api import convert
from scheduler.api.explain import PlanSnapshot, explain_job
from scheduler.domain import (
    AttemptState,
    AttemptView,
    JobSpec,
    JobState,
    JobView,
    OptionLoss,
    Placement,
)

T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)
NOW = int(T0.timestamp())
OD = "local/r1/r1-a/m4/on-demand"
SPOT = "local/r1/r1-a/m4/spot"


def view(state: JobState, *, attempts: tuple[AttemptView, ...] = (), **kw: object) -> JobView:
    spec = JobSpec("j", ("true",), timedelta(hours=1), T0 + timedelta(hours=3))
    base = JobView(
        id="j-1",
        tenant="default",
        spec=spec,
        state=state,
        state_reason="",
        created_at=T0,
        updated_at=T0,
        progress=0.0,
        checkpoint_progress=0.0,
        checkpoint_seq=0,
        preemptions=0,
        failures=0,
        cost=Decimal(0),
        exit_code=None,
        finished_at=None,
        attempts=attempts,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def attempt(state: AttemptState) -> AttemptView:
    return AttemptView(
        id="a-1",
        job_id="j-1",
        number=1,
        placement=Placement("local", "r1", "r1-a", "m4", "on-demand", Decimal("0.2")),
        state=state,
        node_id="n-1",
        created_at=T0,
        started_at=T0 + timedelta(seconds=5),
        ended_at=None,
        exit_code=None,
        preempted=False,
        progress=0.5,
        cost=Decimal("0.01"),
        last_heartbeat=None,
    )


def offering(oid: str, market: solver.Market, price: int) -> solver.Offering:
    return solver.Offering(
        id=oid,
        cloud="local",
        region="r1",
        zone="r1-a",
        instance_type="m4",
        market=market,
        vcpus=4,
        memory_gib=16,
        gpu_count=0,
        gpu_type="",
        price_micros_per_hour=price,
        hazard_per_hour=0.1 if market is solver.Market.SPOT else 0.0,
        launch_delay_s=60,
        quota_draw=(("local/r1/vcpu", 4),),
    )


def snapshot() -> tuple[solver.Problem, solver.Plan]:
    job = solver.Job(
        id="j-1",
        vcpus=2,
        memory_gib=4,
        runtime_s=3600,
        runtime_p_s=4320,
        deadline=NOW + 3 * 3600,
        spot_allowed=False,
    )
    problem = solver.Problem(
        now=NOW,
        jobs=(job,),
        offerings=(
            offering(OD, solver.Market.ON_DEMAND, 200_000),
            offering(SPOT, solver.Market.SPOT, 60_000),
        ),
    )
    return problem, solver.solve_greedy(problem)


def const(snap: PlanSnapshot) -> Callable[[], PlanSnapshot]:
    return lambda: snap


def test_a_waiting_job_in_the_plan_is_explained_in_dollars_and_utc() -> None:
    problem, plan = snapshot()
    e = explain_job(view(JobState.PENDING), lambda: (problem, plan), 3)
    assert e.note == "" and e.planned_at == T0
    assert e.decision.placed and e.decision.offering_id == OD and e.decision.start == T0
    assert e.decision.expected_cost == Decimal("0.203333")
    assert e.chosen is not None and e.chosen.cost.total == Decimal("0.203333")
    [alt] = e.alternatives
    assert (alt.offering_id, alt.loss, alt.detail) == (
        SPOT,
        OptionLoss.MARKET,
        "spot not allowed for this job",
    )
    assert (e.considered, e.not_fitting) == (2, 0)


def test_a_snapshot_read_between_the_loops_two_writes_is_read_again() -> None:
    problem, plan = snapshot()
    other = replace(problem, jobs=(*problem.jobs, replace(problem.jobs[0], id="j-2")))
    reads = iter([(other, plan), (problem, plan)])
    e = explain_job(view(JobState.PLANNED), lambda: next(reads), 3)
    assert e.chosen is not None
    always_mismatched = explain_job(view(JobState.PENDING), lambda: (other, plan), 3)
    assert always_mismatched.chosen is None and "no plan covers it yet" in always_mismatched.note


def test_a_job_not_in_any_plan_yet_says_so() -> None:
    requeued = view(JobState.PENDING, attempts=(attempt(AttemptState.PREEMPTED),))
    requeued = replace(requeued, state_reason="waiting: quota full on every timely offering")
    for snap in ((None, None), snapshot()):
        job = replace(requeued, id="j-9") if snap[0] is not None else requeued
        e = explain_job(job, const(snap), 3)
        assert e.chosen is None and e.alternatives == ()
        assert not e.decision.placed
        assert e.decision.reason == "waiting: quota full on every timely offering"
        assert e.note == "job is PENDING and no plan covers it yet; ask again after the next tick"


def test_running_and_finished_jobs_show_where_they_are() -> None:
    problem, plan = snapshot()
    running = view(JobState.RUNNING, attempts=(attempt(AttemptState.RUNNING),))
    e = explain_job(running, lambda: (problem, plan), 3)  # in the plan, but launched since
    assert e.chosen is None and e.planned_at is None
    assert e.decision.placed and e.decision.offering_id == OD
    assert e.decision.start == T0 + timedelta(seconds=5) and e.decision.expected_cost is None
    assert e.note == f"job is RUNNING on {OD}; explanations cover jobs waiting to be placed"
    done = view(JobState.SUCCEEDED, attempts=(attempt(AttemptState.SUCCEEDED),))
    e = explain_job(done, lambda: (None, None), 3)
    assert (
        e.note == f"job is SUCCEEDED (last on {OD}); explanations cover jobs waiting to be placed"
    )


def test_the_clients_loss_mirrors_the_solvers() -> None:
    assert [x.value for x in OptionLoss] == [x.value for x in solver.Loss]


def test_protobuf_round_trip() -> None:
    problem, plan = snapshot()
    e = explain_job(view(JobState.PENDING), lambda: (problem, plan), 3)
    assert convert.explanation_from_pb(convert.explanation_to_pb(e)) == e
    bare = explain_job(view(JobState.CANCELLED, state_reason="cancelled"), lambda: (None, None), 3)
    assert convert.explanation_from_pb(convert.explanation_to_pb(bare)) == bare
