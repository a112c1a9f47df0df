"""From class-level placements to a :class:`~solver.model.Plan` of per-job decisions.

Shared by every policy, so they agree on the objective, on late placements and on
the reason a job is left unplaced. Jobs of a class keep the placement the previous
plan gave them when the new plan still has it (stability across ticks); the rest
take the class's placements in id order.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace

import numpy as np
from ortools.graph.python import min_cost_flow

from solver.capacity import Placement, Residual
from solver.instance import I64, Instance, JobClass
from solver.model import Decision, Plan, Unplaced, WarmStart


def place_late(inst: Instance, res: Residual, c: int, cls: JobClass) -> list[Placement]:
    """A class that can meet its deadline nowhere runs late rather than never: on
    on-demand, at the earliest start with room (cheapest among equals)."""
    T = inst.T
    starts = inst.problem.now + np.arange(T) * inst.problem.slot_s
    late = (~inst.spot[cls.offs])[:, None] & (starts >= cls.job.earliest_start)[None, :]
    if not late.any():
        return []
    late_cls = replace(cls, feasible=late)
    finish = (starts - inst.problem.now)[None, :] + inst.launch_s[cls.offs][:, None]
    key = finish * 1e6 + cls.cost.astype(np.float64) / 1e6
    return res.fill(c, late_cls, cls.n, key)


def shift_earlier(
    inst: Instance, res: Residual, placements: Sequence[Placement]
) -> list[Placement]:
    """Move placements to an earlier slot on the same offering when it has room and
    costs no more. Equal-cost plans differ only in when jobs start; starting sooner
    leaves slack for estimates that prove optimistic. ``res`` must hold ``placements``
    and is updated."""
    out: list[Placement] = []
    for pl in sorted(placements, key=lambda p: (p.t, p.c, p.i)):
        cls = inst.classes[pl.c]
        if pl.t == 0:
            out.append(pl)
            continue
        row = cls.feasible[pl.i, : pl.t] & (cls.cost[pl.i, : pl.t] <= cls.cost[pl.i, pl.t])
        earlier = np.flatnonzero(row)
        if not earlier.size:
            out.append(pl)
            continue
        res.take(cls, pl.i, pl.t, -pl.count)
        left = pl.count
        for t in earlier.tolist():
            k = min(left, res.room(cls, pl.i, t))
            if k > 0:
                res.take(cls, pl.i, t, k)
                out.append(Placement(pl.c, pl.i, t, k))
                left -= k
            if not left:
                break
        if left:
            res.take(cls, pl.i, pl.t, left)
            out.append(Placement(pl.c, pl.i, pl.t, left))
    return out


def objective_of(inst: Instance, placements: Sequence[Placement]) -> int:
    """Expected cost of the placed jobs (at their classes' mean costs) plus the penalty
    for each job not placed in time: how the policies compare candidate plans. The
    plan's own objective sums each job's exact cost (:func:`finish_plan`).

    A late placement (see :func:`place_late`) changes nothing here: the job pays the
    penalty like an unplaced one, and its own cost shows in its decision only.
    """
    penalty = inst.problem.unplaced_penalty_micros
    total = 0
    placed = 0
    for pl in placements:
        total += int(inst.classes[pl.c].cost[pl.i, pl.t]) * pl.count
        placed += pl.count
    jobs = sum(cls.n for cls in inst.classes)
    return total + (jobs - placed) * penalty


def finish_plan(
    inst: Instance,
    placements: Sequence[Placement],
    *,
    lower_bound: int,
    solver: str,
    hint: Mapping[str, Decision] | None = None,
    stats: Mapping[str, float] | None = None,
    warm: WarmStart | None = None,
) -> Plan:
    """Start jobs as early as costs allow, add late placements for deadline-impossible
    classes, explain every unplaced job, and hand each job its decision."""
    res = Residual(inst)
    for pl in placements:
        res.take(inst.classes[pl.c], pl.i, pl.t, pl.count)
    placements = shift_earlier(inst, res, placements)
    late: list[Placement] = []
    for c, cls in enumerate(inst.classes):
        if (
            cls.offs.size
            and not cls.has_column
            and cls.job.earliest_start < inst.problem.horizon_end
        ):
            late.extend(place_late(inst, res, c, cls))
    by_class: dict[int, list[tuple[Placement, bool]]] = {}
    for pl in placements:
        by_class.setdefault(pl.c, []).append((pl, False))
    for pl in late:
        by_class.setdefault(pl.c, []).append((pl, True))
    decisions: dict[str, Decision] = {}
    for c, cls in enumerate(inst.classes):
        decisions.update(_class_decisions(inst, res, cls, by_class.get(c, []), hint or {}))
    penalty = inst.problem.unplaced_penalty_micros
    objective = sum(
        penalty if not d.placed or d.late else d.expected_cost_micros for d in decisions.values()
    )
    bound = min(lower_bound, objective)
    unavoidable = inst.problem.unplaced_penalty_micros * sum(
        cls.n for cls in inst.classes if not cls.has_column
    )
    all_stats = {"classes": float(len(inst.classes)), **(stats or {})}
    return Plan(
        decisions,
        objective,
        bound,
        solver=solver,
        stats=all_stats,
        warm=warm,
        unavoidable_micros=min(unavoidable, bound),
    )


def _class_decisions(
    inst: Instance,
    res: Residual,
    cls: JobClass,
    placed: list[tuple[Placement, bool]],
    hint: Mapping[str, Decision],
) -> dict[str, Decision]:
    columns = sorted(placed, key=lambda x: (x[0].t, x[0].i))
    flows = _assign_members(cls, [(pl.i, pl.t, pl.count) for pl, _ in columns])
    out: dict[str, Decision] = {}
    for m, ids in enumerate(cls.member_ids):
        slots: list[tuple[str, int, int, bool]] = []  # (offering id, start, cost, late)
        for k, (pl, is_late) in enumerate(columns):
            o = int(cls.offs[pl.i])
            cost = int(cls.member_cost[m, pl.i, pl.t])
            entry = (inst.offering_ids[o], inst.slot_start(pl.t), cost, is_late)
            slots.extend([entry] * int(flows[m, k]))
        remaining = list(ids)
        if hint:
            keep: list[str] = []
            for jid in remaining:
                h = hint.get(jid)
                match = next(
                    (
                        k
                        for k, s in enumerate(slots)
                        if h is not None and (s[0], s[1]) == (h.offering_id, h.start)
                    ),
                    None,
                )
                if match is None:
                    keep.append(jid)
                else:
                    out[jid] = _decision(jid, slots.pop(match))
            remaining = keep
        for jid, slot in zip(remaining, slots, strict=False):
            out[jid] = _decision(jid, slot)
        if len(remaining) > len(slots):
            reason = unplaced_reason(inst, res, cls)
            waits = reason in (Unplaced.QUOTA_FULL, Unplaced.BUDGET)
            until = inst.problem.horizon_end if waits else None
            for jid in remaining[len(slots) :]:
                out[jid] = Decision(jid, None, None, reason=reason, until=until)
    return out


def _assign_members(cls: JobClass, columns: Sequence[tuple[int, int, int]]) -> I64:
    """How many jobs of each member take each column: ``flows[member, column]``.

    One member takes them all. Several members split them at the least total cost of
    their own (a transportation problem, solved as a min-cost flow); jobs left over
    when the class was not placed whole are the ones whose placement cost most.
    """
    G, K = len(cls.member_ids), len(columns)
    flows = np.zeros((G, K), dtype=np.int64)
    if not K:
        return flows
    counts = np.array([c for _, _, c in columns], dtype=np.int64)
    if G == 1:
        flows[0] = counts
        return flows
    cost = np.stack([cls.member_cost[:, i, t] for i, t, _ in columns], axis=1)  # (G, K)
    n = int(cls.member_n.sum())
    left_over = n - int(counts.sum())
    # nodes: 0 source, 1..G members, G+1..G+K columns, G+K+1 "not placed", G+K+2 sink
    src, none, sink = 0, G + K + 1, G + K + 2
    member = np.arange(1, G + 1)
    column = np.arange(G + 1, G + K + 1)
    tails = [np.zeros(G, np.int64), np.repeat(member, K), column]
    heads = [member, np.tile(column, G), np.full(K, sink)]
    caps = [cls.member_n, np.minimum(cls.member_n[:, None], counts[None, :]).ravel(), counts]
    unit = [np.zeros(G, np.int64), cost.ravel(), np.zeros(K, np.int64)]
    if left_over:
        tails += [member, np.array([none])]
        heads += [np.full(G, none), np.array([sink])]
        caps += [cls.member_n, np.array([left_over])]
        unit += [np.full(G, int(cost.max()) + 1), np.zeros(1, np.int64)]
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails), np.concatenate(heads), np.concatenate(caps), np.concatenate(unit)
    )
    flow.set_nodes_supplies(np.array([src, sink]), np.array([n, -n]))
    if flow.solve() != flow.OPTIMAL:  # cannot happen: the network always has room
        raise RuntimeError("member assignment has no solution")
    values = flow.flows(arcs)
    flows[:] = values[G : G + G * K].reshape(G, K)
    return flows


def _decision(jid: str, slot: tuple[str, int, int, bool]) -> Decision:
    offering_id, start, cost, late = slot
    reason = Unplaced.DEADLINE_IMPOSSIBLE if late else None
    return Decision(jid, offering_id, start, cost, reason=reason, late=late)


def unplaced_reason(inst: Instance, res: Residual, cls: JobClass) -> Unplaced:
    if cls.job.earliest_start >= inst.problem.horizon_end:
        return Unplaced.NOT_YET
    if not cls.offs.size:
        return Unplaced.NO_OFFERING
    if not cls.has_column:
        return Unplaced.DEADLINE_IMPOSSIBLE
    if not cls.budget_mask.any():
        return Unplaced.QUOTA_FULL
    quota_only = Residual(inst)
    quota_only.cap = res.cap
    no_budget = replace(cls, budget_mask=np.zeros_like(cls.budget_mask))
    if (quota_only.copies(no_budget)[cls.feasible] > 0).any():
        return Unplaced.BUDGET
    return Unplaced.QUOTA_FULL
