"""A second, independent reading of the formulation in :mod:`solver`'s docstring.

Nothing here imports the solver's internals (``solver.instance``, ``solver.capacity``
...): only the public model. From a :class:`~solver.Problem` alone it says which
placements are legal and what they cost (:func:`timely`, :func:`expected_cost`), checks
that a :class:`~solver.Plan` keeps every rule (:func:`check_plan`), and solves the
time-indexed integer program exactly with SCIP (:func:`solve_exact`) to get the true
optimum that the solver's objective and lower bound must bracket.

Readings of the docstring that the checks rely on:

* slot ``t`` starts at ``now + t * slot_s``; a job starts only at a slot start inside
  the horizon, never before its earliest start;
* timely: ``start + launch + runtime_p <= deadline``, on spot additionally
  ``+ checkpoint_interval + restart_overhead + launch``;
* cost, at the mean hourly price over the slots the job runs -- from its start slot
  for ``max(1, ceil((launch + runtime) / slot_s))`` slots, the price of a slot past
  the end of ``price_micros_by_slot`` being its last value (:class:`~solver.Offering`):
  compute = price x runtime, launch = price x launch delay, rework (spot only) =
  price x hazard x runtime x (checkpoint interval / 2 + restart overhead), egress =
  data GB x $/GB; each part rounded to a micro-dollar;
* a node is held from its start for ``max(1, ceil((launch + runtime_p) / slot_s))``
  slots, clipped to the horizon; every placed job (late ones too) draws its quota
  and counts against its tenant's budgets in the slot it starts;
* objective = cost of the jobs placed in time + penalty x (jobs unplaced or late).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, replace
from fractions import Fraction

from ortools.linear_solver import pywraplp

from solver import Decision, Job, Market, Offering, Plan, Problem, Unplaced

#: A placement's cost may differ from ours by one micro-dollar per part (four parts)
#: of float rounding.
COST_TOL = 4
QUOTA_EPS = 1e-9


# --- the rules, from the docstring -------------------------------------------------


def slot_start(p: Problem, t: int) -> int:
    return p.now + t * p.slot_s


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


def fits(job: Job, off: Offering) -> bool:
    """Resources, GPU type and location (not the market)."""
    if off.vcpus < job.vcpus or off.memory_gib < job.memory_gib:
        return False
    if job.gpu_count and (off.gpu_count < job.gpu_count or off.gpu_type != job.gpu_type):
        return False
    if job.allowed_clouds and off.cloud not in job.allowed_clouds:
        return False
    return not (job.allowed_regions and off.region not in job.allowed_regions)


def market_ok(job: Job, off: Offering) -> bool:
    return off.market is not Market.SPOT or job.spot_allowed


def pessimistic_end(job: Job, off: Offering, start: int) -> int:
    end = start + off.launch_delay_s + job.runtime_p_s
    if off.market is Market.SPOT:
        end += job.checkpoint_interval_s + job.restart_overhead_s + off.launch_delay_s
    return end


def timely(p: Problem, job: Job, off: Offering, t: int) -> bool:
    """Column ``(job, off, t)`` exists in the formulation."""
    start = slot_start(p, t)
    return (
        0 <= t < p.horizon_slots
        and fits(job, off)
        and market_ok(job, off)
        and start >= job.earliest_start
        and pessimistic_end(job, off, start) <= job.deadline
    )


def hold_slots(p: Problem, job: Job, off: Offering) -> int:
    return max(1, ceil_div(off.launch_delay_s + job.runtime_p_s, p.slot_s))


def price_in_slot(off: Offering, k: int) -> int:
    by_slot = off.price_micros_by_slot
    if not by_slot:
        return off.price_micros_per_hour
    return by_slot[min(k, len(by_slot) - 1)]


def mean_price(p: Problem, job: Job, off: Offering, t: int) -> Fraction:
    n = max(1, ceil_div(off.launch_delay_s + job.runtime_s, p.slot_s))
    return Fraction(sum(price_in_slot(off, t + j) for j in range(n)), n)


def egress_per_gb(p: Problem, src: str, dst: str) -> int:
    if not src or src == dst:
        return 0
    for e in p.egress:
        if (e.src, e.dst) == (src, dst):
            return e.micros_per_gb
    if src.split(":", 1)[0] == dst.split(":", 1)[0]:
        return p.egress_same_cloud_micros_per_gb
    return p.egress_cross_cloud_micros_per_gb


def cost_parts(p: Problem, job: Job, off: Offering, t: int) -> tuple[int, int, int, int]:
    """(compute, rework, egress, launch) in micro-dollars, each exactly rounded."""
    avg = mean_price(p, job, off, t)
    hours = Fraction(job.runtime_s, 3600)
    compute = round(avg * hours)
    launch = round(avg * Fraction(off.launch_delay_s, 3600))
    rework = 0
    if off.market is Market.SPOT:
        lost_h = (Fraction(job.checkpoint_interval_s, 2) + job.restart_overhead_s) / 3600
        rework = round(avg * Fraction(off.hazard_per_hour) * hours * lost_h)
    egress = round(
        Fraction(egress_per_gb(p, job.data_location, off.location)) * Fraction(job.data_gb)
    )
    return compute, rework, egress, launch


def expected_cost(p: Problem, job: Job, off: Offering, t: int) -> int:
    return sum(cost_parts(p, job, off, t))


def columns(p: Problem, job: Job) -> list[tuple[Offering, int]]:
    return [
        (off, t) for off in p.offerings for t in range(p.horizon_slots) if timely(p, job, off, t)
    ]


def can_start_in_horizon(p: Problem, job: Job) -> bool:
    return any(slot_start(p, t) >= job.earliest_start for t in range(p.horizon_slots))


def reason_for(p: Problem, job: Job) -> Unplaced:
    """Why a job of this kind may be left out, when the referee leaves it out."""
    if job.earliest_start >= p.horizon_end:
        return Unplaced.NOT_YET
    if not any(fits(job, off) for off in p.offerings):
        return Unplaced.NO_OFFERING
    if not can_start_in_horizon(p, job):
        return Unplaced.NOT_YET
    if not columns(p, job):
        return Unplaced.DEADLINE_IMPOSSIBLE
    return Unplaced.QUOTA_FULL


# --- the invariant checker ---------------------------------------------------------


def check_plan(p: Problem, plan: Plan, *, cost_tol: int = COST_TOL) -> list[str]:
    """Every rule ``plan`` breaks, as readable lines (empty: the plan is valid)."""
    errors: list[str] = []
    jobs = {j.id: j for j in p.jobs}
    offs = {o.id: o for o in p.offerings}
    T = p.horizon_slots
    if set(plan.decisions) != set(jobs):
        errors.append(f"decisions for {sorted(plan.decisions)} but jobs are {sorted(jobs)}")
    penalty = p.unplaced_penalty_micros
    objective = 0
    usage: dict[tuple[str, int], float] = defaultdict(float)
    spent = [0] * len(p.budgets)
    for job in p.jobs:
        d = plan.decisions.get(job.id)
        if d is None:
            continue
        where = f"job {job.id} ({d})"
        if d.job_id != job.id:
            errors.append(f"{where}: decision filed under another job id")
        has_fit = any(fits(job, off) for off in p.offerings)
        timely_cols = columns(p, job)
        if not d.placed:
            objective += penalty
            if d.start is not None or d.late:
                errors.append(f"{where}: unplaced but has a start or is late")
            waits = d.reason in (Unplaced.QUOTA_FULL, Unplaced.BUDGET)
            if d.until != (p.horizon_end if waits else None):
                errors.append(f"{where}: until should be {p.horizon_end if waits else None}")
            if d.reason is None:
                errors.append(f"{where}: unplaced without a reason")
            elif job.earliest_start >= p.horizon_end:
                if d.reason is not Unplaced.NOT_YET:
                    errors.append(f"{where}: earliest start past the horizon, should be NOT_YET")
            elif not has_fit:
                if d.reason is not Unplaced.NO_OFFERING:
                    errors.append(f"{where}: no offering fits, reason should be NO_OFFERING")
            elif d.reason is Unplaced.NOT_YET and can_start_in_horizon(p, job):
                errors.append(f"{where}: NOT_YET but a slot at/after earliest start exists")
            elif d.reason is Unplaced.DEADLINE_IMPOSSIBLE and timely_cols:
                errors.append(f"{where}: DEADLINE_IMPOSSIBLE but {len(timely_cols)} timely columns")
            elif d.reason in (Unplaced.QUOTA_FULL, Unplaced.BUDGET) and not timely_cols:
                errors.append(f"{where}: {d.reason.name} but no timely column exists")
            elif d.reason is Unplaced.BUDGET and not any(
                b.tenant == job.tenant and b.window_start <= slot_start(p, t) < b.window_end
                for b in p.budgets
                for _, t in timely_cols
            ):
                errors.append(f"{where}: BUDGET but no budget of {job.tenant!r} covers it")
            continue
        off = offs.get(d.offering_id or "")
        if off is None:
            errors.append(f"{where}: unknown offering")
            continue
        starts = [slot_start(p, t) for t in range(T)]
        if d.start not in starts:
            errors.append(f"{where}: start is not a slot start inside the horizon")
            continue
        t = starts.index(d.start)
        if not fits(job, off):
            errors.append(f"{where}: offering does not fit the job")
        if d.start < job.earliest_start:
            errors.append(f"{where}: starts before its earliest start {job.earliest_start}")
        if d.late:
            objective += penalty
            if off.market is Market.SPOT:
                errors.append(f"{where}: late placement on spot")
            if timely_cols:
                errors.append(f"{where}: placed late although a timely column exists")
        else:
            objective += d.expected_cost_micros
            if d.reason is not None:
                errors.append(f"{where}: placed in time but carries a reason")
            if not market_ok(job, off):
                errors.append(f"{where}: spot not allowed")
            end = pessimistic_end(job, off, d.start)
            if end > job.deadline:
                errors.append(f"{where}: pessimistic end {end} > deadline {job.deadline}")
        want = expected_cost(p, job, off, t)
        if abs(d.expected_cost_micros - want) > cost_tol:
            errors.append(
                f"{where}: expected cost {d.expected_cost_micros} != formula {want} "
                f"(compute, rework, egress, launch = {cost_parts(p, job, off, t)})"
            )
        for pool, amount in off.quota_draw:
            for s in range(t, min(T, t + hold_slots(p, job, off))):
                usage[pool, s] += amount
        for b, budget in enumerate(p.budgets):
            if budget.tenant == job.tenant and budget.window_start <= d.start < budget.window_end:
                spent[b] += d.expected_cost_micros
    for qp in p.quota_pools:
        for s in range(T):
            if usage[qp.id, s] > qp.free_in(s) + QUOTA_EPS:
                errors.append(
                    f"quota {qp.id} slot {s}: {usage[qp.id, s]} drawn > {qp.free_in(s)} free"
                )
    for b, budget in enumerate(p.budgets):
        if spent[b] > budget.limit_micros:
            errors.append(f"budget {budget}: {spent[b]} spent")
    errors.extend(_left_out_with_room(p, plan))
    if not errors and plan.objective_micros != objective:
        errors.append(f"objective {plan.objective_micros} != cost + penalties {objective}")
    if plan.lower_bound_micros > plan.objective_micros:
        errors.append(f"lower bound {plan.lower_bound_micros} > objective")
    return errors


def _left_out_with_room(p: Problem, plan: Plan) -> list[str]:
    """ "A job is left out only when it cannot fit": no unplaced job has a timely column
    that fits in the room the plan's timely placements leave (late placements are not
    part of the integer program; they take what is left afterwards). Any optimal plan
    has this property -- placing the job would save the penalty -- and so does any
    plan that fills greedily."""
    jobs = {j.id: j for j in p.jobs}
    offs = {o.id: o for o in p.offerings}
    T = p.horizon_slots
    usage: dict[tuple[str, int], float] = defaultdict(float)
    spent = [0] * len(p.budgets)
    for d in plan.decisions.values():
        off = offs.get(d.offering_id or "")
        if off is None or d.start is None or d.late or d.job_id not in jobs:
            continue
        job = jobs[d.job_id]
        t = (d.start - p.now) // p.slot_s
        for pool, amount in off.quota_draw:
            for s in range(t, min(T, t + hold_slots(p, job, off))):
                usage[pool, s] += amount
        for b, budget in enumerate(p.budgets):
            if budget.tenant == job.tenant and budget.window_start <= d.start < budget.window_end:
                spent[b] += d.expected_cost_micros
    free = {qp.id: qp for qp in p.quota_pools}
    errors: list[str] = []
    for d in plan.decisions.values():
        if d.placed or d.job_id not in jobs:
            continue
        job = jobs[d.job_id]
        for off, t in columns(p, job):
            held = range(t, min(T, t + hold_slots(p, job, off)))
            room = all(
                pool not in free or usage[pool, s] + amount <= free[pool].free_in(s) + QUOTA_EPS
                for pool, amount in off.quota_draw
                for s in held
            )
            cost = expected_cost(p, job, off, t)
            start = slot_start(p, t)
            room = room and all(
                spent[b] + cost + COST_TOL <= budget.limit_micros
                for b, budget in enumerate(p.budgets)
                if budget.tenant == job.tenant and budget.window_start <= start < budget.window_end
            )
            if room:
                errors.append(
                    f"job {job.id} left out ({d.reason!r}) although {off.id} at slot {t} "
                    f"fits in the room the plan leaves"
                )
                break
    return errors


# --- the exact referee -------------------------------------------------------------


@dataclass(frozen=True)
class Exact:
    objective: int
    placed: int
    decisions: dict[str, Decision]

    def plan(self) -> Plan:
        return Plan(self.decisions, self.objective, self.objective, solver="referee")


@dataclass(frozen=True)
class _Column:
    c: int
    off: Offering
    t: int
    cost: int
    hold: int


def solve_exact(p: Problem, *, time_limit_s: float = 60.0) -> Exact:
    """The optimum of the time-indexed integer program, solved by SCIP.

    Columns are enumerated per class (jobs equal but for their id). Because the
    penalty dominates any saving, the objective is minimized lexicographically: most
    jobs placed in time first, then least cost -- two small, well-scaled integer
    programs instead of one with 1e12 coefficients next to cents.
    """
    groups: dict[Job, list[str]] = defaultdict(list)
    for job in p.jobs:
        groups[replace(job, id="")].append(job.id)
    classes = list(groups.items())
    cols = [
        _Column(c, off, t, expected_cost(p, job, off, t), hold_slots(p, job, off))
        for c, (job, _) in enumerate(classes)
        for off, t in columns(p, job)
    ]
    n = [len(ids) for _, ids in classes]
    total_jobs = len(p.jobs)
    penalty = p.unplaced_penalty_micros
    most_cost = sum(
        n[c] * max((col.cost for col in cols if col.c == c), default=0) for c in range(len(n))
    )

    solver = pywraplp.Solver.CreateSolver("SCIP")
    if solver is None:  # pragma: no cover - ortools ships SCIP
        raise RuntimeError("SCIP is not available in this ortools build")
    solver.SetTimeLimit(int(time_limit_s * 1000))
    x = [solver.IntVar(0, n[col.c], f"x{k}") for k, col in enumerate(cols)]
    for c in range(len(n)):
        mine = [x[k] for k, col in enumerate(cols) if col.c == c]
        if mine:
            solver.Add(solver.Sum(mine) <= n[c])
    free = {qp.id: qp for qp in p.quota_pools}
    for qp in free.values():
        for s in range(p.horizon_slots):
            terms = [
                (sum(a for pool, a in col.off.quota_draw if pool == qp.id), x[k])
                for k, col in enumerate(cols)
                if col.t <= s < col.t + col.hold
            ]
            terms = [(a, v) for a, v in terms if a > 0]
            if terms:
                solver.Add(solver.Sum([a * v for a, v in terms]) <= qp.free_in(s))
    for budget in p.budgets:
        terms = [
            (col.cost, x[k])
            for k, col in enumerate(cols)
            if classes[col.c][0].tenant == budget.tenant
            and budget.window_start <= slot_start(p, col.t) < budget.window_end
        ]
        if terms:
            solver.Add(solver.Sum([a * v for a, v in terms]) <= budget.limit_micros)

    params = pywraplp.MPSolverParameters()
    params.SetDoubleParam(params.RELATIVE_MIP_GAP, 0.0)

    def run() -> None:
        status = solver.Solve(params)
        if status != pywraplp.Solver.OPTIMAL:
            raise RuntimeError(f"SCIP did not prove optimality (status {status})")

    placed = solver.Sum(x) if x else 0
    if x and penalty > most_cost:
        solver.Maximize(placed)
        run()
        solver.Add(placed >= round(solver.Objective().Value()))
        solver.Minimize(solver.Sum([col.cost * x[k] for k, col in enumerate(cols)]))
        run()
    elif x:
        solver.Minimize(solver.Sum([(col.cost - penalty) * x[k] for k, col in enumerate(cols)]))
        run()
    values = [round(v.solution_value()) for v in x]

    decisions: dict[str, Decision] = {}
    todo = {c: sorted(ids) for c, (_, ids) in enumerate(classes)}
    for col, v in zip(cols, values, strict=True):
        for _ in range(v):
            jid = todo[col.c].pop(0)
            decisions[jid] = Decision(jid, col.off.id, slot_start(p, col.t), col.cost)
    for c, ids in todo.items():
        for jid in ids:
            reason = reason_for(p, classes[c][0])
            until = p.horizon_end if reason is Unplaced.QUOTA_FULL else None
            decisions[jid] = Decision(jid, None, None, reason=reason, until=until)
    n_placed = sum(values)
    objective = sum(col.cost * v for col, v in zip(cols, values, strict=True))
    objective += penalty * (total_jobs - n_placed)
    return Exact(objective, n_placed, decisions)
