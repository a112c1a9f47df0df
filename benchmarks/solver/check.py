"""An independent checker of plans: does a set of decisions keep every rule it claims to?

It recomputes everything from the :class:`~solver.Problem` through
:mod:`benchmarks.solver.reference`, never from the solver's internals, and counts:
jobs without a decision; placements on an offering that does not suit the job, off
the slot grid, before the earliest start, or past the deadline at the pessimistic
runtime (for decisions not flagged ``late``); late flags on jobs that had a timely
column; quota cells (pool x slot) over capacity and by how much; budgets overrun; and
decisions whose stated cost differs from the recomputed one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

import solver
from benchmarks.solver.reference import Reference, kind_of

#: Room for float noise in quota amounts.
EPS = 1e-6
#: How many example messages a result keeps.
SAMPLES = 5


@dataclass
class CheckResult:
    jobs: int = 0
    placed: int = 0  # placed and flagged in time
    late_placed: int = 0  # placed, flagged late (no timely column)
    unplaced: int = 0
    #: Recomputed expected cost of the placed, in-time jobs (penalties excluded).
    cost_micros: int = 0
    missing: int = 0
    unknown_offering: int = 0
    misfits: int = 0
    off_grid: int = 0
    early: int = 0
    missed_deadlines: int = 0
    spot_without_slack: int = 0
    late_but_timely: int = 0
    cost_mismatches: int = 0
    quota_cells_over: int = 0
    #: Resource-hours above capacity, by kind ("vcpu", "gpu", "spot vcpu", "spot gpu").
    quota_overage: dict[str, float] = field(default_factory=dict)
    budget_overruns: int = 0
    budget_overrun_micros: int = 0
    samples: list[str] = field(default_factory=list)

    @property
    def violations(self) -> int:
        """Everything that must be 0 for a plan the solver may hand out."""
        return (
            self.missing
            + self.unknown_offering
            + self.misfits
            + self.off_grid
            + self.early
            + self.missed_deadlines
            + self.spot_without_slack
            + self.late_but_timely
            + self.quota_cells_over
            + self.budget_overruns
        )

    def note(self, message: str) -> None:
        if len(self.samples) < SAMPLES:
            self.samples.append(message)


def check_plan(
    problem: solver.Problem,
    decisions: Mapping[str, solver.Decision],
    ref: Reference | None = None,
) -> CheckResult:
    ref = ref or Reference(problem)
    out = CheckResult(jobs=len(problem.jobs))
    use = np.zeros((len(ref.pool_ids), ref.T))
    budget_spent = [0] * len(problem.budgets)
    for job in problem.jobs:
        d = decisions.get(job.id)
        if d is None:
            out.missing += 1
            out.note(f"{job.id}: no decision")
            continue
        if d.offering_id is None or d.start is None:
            out.unplaced += 1
            continue
        o = ref.offering_index.get(d.offering_id)
        if o is None:
            out.unknown_offering += 1
            out.note(f"{job.id}: unknown offering {d.offering_id}")
            continue
        group = ref.group_of(job)
        fits, timely, cost, hold = group.fits, group.timely, group.cost, group.hold
        t = ref.slot_of(d.start)
        if not fits[o]:
            out.misfits += 1
            out.note(f"{job.id}: does not fit {d.offering_id}")
        if t is None:
            out.off_grid += 1
            out.note(f"{job.id}: start {d.start} is not a slot start in the horizon")
            continue
        if d.start < job.earliest_start:
            out.early += 1
            out.note(f"{job.id}: starts before its earliest start")
        c = int(cost[o, t])
        if abs(c - d.expected_cost_micros) > 2:
            out.cost_mismatches += 1
        if d.late:
            out.late_placed += 1
            if timely.any():
                out.late_but_timely += 1
                out.note(f"{job.id}: flagged late but has a timely column")
        else:
            out.placed += 1
            out.cost_micros += c
            offering = problem.offerings[o]
            done = d.start + offering.launch_delay_s + job.runtime_p_s
            if done > job.deadline:
                out.missed_deadlines += 1
                out.note(f"{job.id}: done at {done} > deadline {job.deadline}")
            elif fits[o] and d.start >= job.earliest_start and not timely[o, t]:
                out.spot_without_slack += 1
                out.note(f"{job.id}: on spot without slack for a preemption")
        end = min(ref.T, t + int(hold[o]))
        for p, amt in ref.draws[o]:
            use[p, t:end] += amt
        for b, budget in enumerate(problem.budgets):
            if budget.tenant == job.tenant and budget.window_start <= d.start < budget.window_end:
                budget_spent[b] += c
                break
    over = use - ref.capacity
    cells = over > EPS
    out.quota_cells_over = int(cells.sum())
    slot_h = problem.slot_s / 3600.0
    for p, pid in enumerate(ref.pool_ids):
        if cells[p].any():
            kind = kind_of(pid)
            out.quota_overage[kind] = out.quota_overage.get(kind, 0.0) + float(
                over[p][cells[p]].sum() * slot_h
            )
            t = int(np.argmax(over[p]))
            out.note(f"{pid}: {use[p, t]:g} held in slot {t}, capacity {ref.capacity[p, t]:g}")
    for budget, spent in zip(problem.budgets, budget_spent, strict=True):
        if spent > budget.limit_micros:
            out.budget_overruns += 1
            out.budget_overrun_micros += spent - budget.limit_micros
            out.note(f"budget of {budget.tenant}: {spent} > {budget.limit_micros}")
    return out
