"""``ExplainJob``: why a job waiting to be placed got its placement.

The control loop keeps the problem and the plan of its latest tick; a job of that
plan that is still PENDING or PLANNED is explained by :func:`solver.explain`
against them. Any other job (launched, running, finished, or not planned yet) gets
its state, where it is, and a note saying why there is nothing to explain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypeAlias

import solver
from scheduler.domain import (
    ACTIVE_STATES,
    CostParts,
    JobExplanation,
    JobState,
    JobView,
    OptionLoss,
    PlanDecision,
    PlanOption,
)

#: The control loop's latest (problem, plan); both ``None`` before its first plan.
PlanSnapshot: TypeAlias = tuple[solver.Problem | None, solver.Plan | None]

DEFAULT_ALTERNATIVES = 3
MAX_ALTERNATIVES = 100
#: States whose job the latest plan speaks for.
WAITING = frozenset({JobState.PENDING, JobState.PLANNED})
COVERS = "explanations cover jobs waiting to be placed"
#: The loop swaps problem and plan as two attribute writes; a read that lands between
#: them sees a mismatched pair, so it is read again.
READS = 3


def explain_job(
    job: JobView, snapshot: Callable[[], PlanSnapshot], alternatives: int
) -> JobExplanation:
    if job.state in WAITING:
        for _ in range(READS):
            problem, plan = snapshot()
            if problem is None or plan is None or job.id not in plan.decisions:
                break
            if plan.decisions.keys() != {j.id for j in problem.jobs}:
                continue
            try:
                e = solver.explain(
                    problem, plan, job.id, alternatives=alternatives, time_format=_text
                )
            except (KeyError, ValueError):
                continue
            return _explained(job, problem, e)
        note = f"job is {job.state} and no plan covers it yet; ask again after the next tick"
        return JobExplanation(job.id, job.state, _stored(job), note=note)
    decision = _stored(job)
    if not decision.placed:
        note = f"job is {job.state}; {COVERS}"
    elif job.state in ACTIVE_STATES:
        note = f"job is {job.state} on {decision.offering_id}; {COVERS}"
    else:
        note = f"job is {job.state} (last on {decision.offering_id}); {COVERS}"
    return JobExplanation(job.id, job.state, decision, note=note)


def _when(t: int) -> datetime:
    """The planner's problems count Unix seconds (see ``scheduler.control.planner``)."""
    return datetime.fromtimestamp(t, UTC)


def _text(t: int) -> str:
    return f"{_when(t):%Y-%m-%d %H:%M:%S} UTC"


def _option(o: solver.Option) -> PlanOption:
    b = o.breakdown
    return PlanOption(
        offering_id=o.offering_id,
        start=_when(o.start),
        cost=CostParts(
            compute=solver.money_from_micros(b.compute),
            rework=solver.money_from_micros(b.rework),
            egress=solver.money_from_micros(b.egress),
            launch=solver.money_from_micros(b.launch),
        ),
        loss=OptionLoss(o.lost.value) if o.lost is not None else None,
        detail=o.detail,
    )


def _explained(job: JobView, problem: solver.Problem, e: solver.Explanation) -> JobExplanation:
    d = e.decision
    return JobExplanation(
        job_id=job.id,
        state=job.state,
        decision=PlanDecision(
            placed=d.placed,
            offering_id=d.offering_id or "",
            start=_when(d.start) if d.start is not None else None,
            expected_cost=solver.money_from_micros(d.expected_cost_micros) if d.placed else None,
            reason=d.reason.value if d.reason is not None else "",
            late=d.late,
        ),
        chosen=_option(e.chosen) if e.chosen is not None else None,
        alternatives=tuple(_option(o) for o in e.alternatives),
        considered=e.considered,
        not_fitting=e.not_fitting,
        planned_at=_when(problem.now),
    )


def _stored(job: JobView) -> PlanDecision:
    """Where the store says the job is: planned, else on its latest attempt."""
    if job.state is JobState.PLANNED and job.planned_offering:
        return PlanDecision(True, job.planned_offering)
    if job.attempts and job.state is not JobState.PENDING:
        a = job.attempts[-1]
        return PlanDecision(True, a.placement.offering_id, a.started_at or a.created_at)
    return PlanDecision(False, reason=job.state_reason)
