"""Pricing: reduced costs of every column under quota and budget prices, the new
columns worth adding, and the Lagrangian lower bound those prices certify.

For any prices ``pi <= 0`` (pool x slot) and ``mu <= 0`` (budget), relaxing the quota
and budget rows gives a lower bound on the full integer problem (see :mod:`solver`):

    L(pi, mu) = sum(pi * free capacity) + sum(mu * budget)
                + sum_c n_c * min(penalty, min over c's columns of cost * (1 - mu) - pi . use)

It equals the LP value at the LP's optimal duals, and stays valid at any other
prices (last tick's, or mid-way through column generation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from solver.instance import F64, I64, UNLIMITED, Instance, JobClass


@dataclass
class Priced:
    #: The certified bound, rounded down past any float error (micro-dollars).
    bound: int
    #: New columns with negative reduced cost (class, offering index, slot).
    c: I64
    i: I64
    t: I64
    #: Per class: the least price-adjusted cost (``inf`` when the class has no column).
    best: F64


def held_prices(inst: Instance, cls: JobClass, prefix: F64) -> F64:
    """Per (i, t): sum_k amt_k * (pool prices over the slots the node is held)."""
    T = inst.T
    t = np.arange(T)
    end = np.minimum(t[None, :] + cls.occupancy[:, None], T)
    q = np.zeros(cls.feasible.shape)
    for k in range(inst.draw_pool.shape[1]):
        pool = inst.draw_pool[cls.offs, k]
        amt = inst.draw_amt[cls.offs, k]
        if not (amt > 0).any():
            continue
        held = prefix[pool[:, None], end] - prefix[pool[:, None], t[None, :]]
        q += amt[:, None] * held
    return q


def budget_factor(inst: Instance, cls: JobClass, mu: F64) -> F64:
    """Per slot: 1 - the sum of mu over the budgets a start in that slot counts against."""
    if not mu.size:
        return np.ones(inst.T)
    out: F64 = 1.0 - mu @ cls.budget_mask
    return out


def adjusted_costs(inst: Instance, cls: JobClass, prefix: F64, mu: F64) -> F64:
    """cost * (1 - mu_budget) - pool prices of the held slots, per (i, t), at the class's
    mean cost; ``inf`` where the column is infeasible."""
    q = held_prices(inst, cls, prefix)
    factor = budget_factor(inst, cls, mu)
    adj: F64 = np.where(cls.feasible, cls.cost * factor[None, :] - q, np.inf)
    return adj


def price(
    inst: Instance,
    pi: F64,
    mu: F64,
    alpha: F64 | None,
    *,
    per_class: int = 3,
    tol: float = 1.0,
) -> Priced:
    """Price every column of every class; return the bound and, when ``alpha`` (class
    duals) is given, up to ``per_class`` columns per class with reduced cost below
    ``-tol`` micro-dollars (anything smaller is the LP's float noise)."""
    T = inst.T
    pi = np.minimum(pi, 0.0)
    mu = np.minimum(mu, 0.0)
    prefix = np.concatenate([np.zeros((pi.shape[0], 1)), np.cumsum(pi, axis=1)], axis=1)
    penalty_int = inst.problem.unplaced_penalty_micros
    penalty = float(penalty_int)
    finite = inst.capacity < UNLIMITED
    # Penalty terms are exact integers; only the price terms carry float error.
    exact = 0
    bound = float(np.sum(np.where(finite, pi * inst.capacity, 0.0)))
    bound += sum(float(m) * b[3] for m, b in zip(mu, inst.budgets, strict=True))
    scale = abs(bound)
    best = np.full(len(inst.classes), np.inf)
    new_c: list[I64] = []
    new_i: list[I64] = []
    new_t: list[I64] = []
    # Classes that fit the same offerings and hold nodes as long pay the same for quota.
    held: dict[tuple[int, bytes], F64] = {}
    for c, cls in enumerate(inst.classes):
        if not cls.has_column:
            exact += cls.n * penalty_int
            continue
        key = (id(cls.offs), cls.occupancy.tobytes())
        q = held.get(key)
        if q is None:
            q = held[key] = held_prices(inst, cls, prefix)
        factor = budget_factor(inst, cls, mu)
        adj = np.where(cls.feasible, cls.cost * factor[None, :] - q, np.inf)
        flat = adj.ravel()
        best[c] = float(flat.min())
        # The bound prices every member at its own cost (budgets count them at it too).
        if len(cls.member_ids) == 1:
            member_min = np.array([best[c]])
        else:
            member_adj = cls.member_cost * factor[None, None, :] - q[None, :, :]
            member_adj = np.where(cls.feasible[None, :, :], member_adj, np.inf)
            member_min = member_adj.reshape(len(cls.member_ids), -1).min(axis=1)
        for m, count in zip(member_min.tolist(), cls.member_n.tolist(), strict=True):
            if m >= penalty:
                exact += count * penalty_int
            else:
                bound += count * m
                scale += count * abs(m)
        if alpha is None:
            continue
        a = float(alpha[c])
        if math.isinf(a):  # "everything improves": the cheapest columns
            rc = flat
            neg = np.flatnonzero(np.isfinite(flat))
        else:
            rc = flat - a
            neg = np.flatnonzero(rc < -(tol + 1e-9 * abs(a)))
        if not neg.size:
            continue
        if neg.size > per_class:
            neg = neg[np.argpartition(rc[neg], per_class - 1)[:per_class]]
        i, t = np.divmod(neg, T)
        new_c.append(np.full(neg.size, c, dtype=np.int64))
        new_i.append(i.astype(np.int64))
        new_t.append(t.astype(np.int64))
    empty = np.zeros(0, dtype=np.int64)
    return Priced(
        bound=exact + math.floor(bound - 1e-9 * scale),
        c=np.concatenate(new_c) if new_c else empty,
        i=np.concatenate(new_i) if new_i else empty,
        t=np.concatenate(new_t) if new_t else empty,
        best=best,
    )
