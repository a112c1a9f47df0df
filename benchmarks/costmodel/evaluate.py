"""How well a cost model predicts a period it was not fitted on, and what its plan
truly costs. Pure: frames, offerings and models in, JSON-able dicts out.

- *Price error* (:func:`billed_attempts`, :func:`price_errors`): each billed attempt's
  predicted cost is the model's effective $/h for the offering it ran on
  (``CostModel.offering(o).price_per_hour``; the catalog model: the list price) x its
  billed hours, against its billed ``EffectiveCost``. MAPE is the mean of
  ``|pred - billed| / billed``, bias the mean of ``(pred - billed) / billed``, total
  error ``sum(pred) / sum(billed) - 1``; all in exact ``Decimal`` until reported.
- *Preemption calibration* (:func:`preemption_calibration`): expected preemptions
  ``sum(hazard x exposure hours)`` of spot attempts that ran, per region, with each
  model's hazard and with the true one, against the observed count.
- *Job cost* (:func:`job_predictions`, secondary): a job's billed cost (all its
  attempts) against what the model expects of it on the offering it first ran on:
  the solver's expected cost (compute + launch + rework, see :mod:`solver`) with the
  estimate scaled by the class's median actual/estimate runtime (1 for the catalog).
- *Plans at the truth* (:func:`true_offering`, :func:`plan_at_truth`): a plan's jobs
  priced with the solver's formula at the true price and the true hazard.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import pandas as pd

import solver
from adapters.base import Market, Offering
from benchmarks.costmodel.truth import Truth
from scheduler.costs import CostModel, family

_HOUR = Decimal(3600)
_MICRO = Decimal("0.000001")

#: (cloud, region, instance_type, market) of an offering.
OfferingKey = tuple[str, str, str, str]


def offering_key(o: Offering) -> OfferingKey:
    return (o.cloud, o.region, o.instance_type, o.market.value)


def group_key(region: str, instance_type: str, market: str) -> str:
    """``region/family/market``: what the hidden price rules and the tables group by."""
    return f"{region}/{family(instance_type)}/{market}"


def _dec(x: float) -> Decimal:
    return Decimal(repr(float(x)))


@dataclass(frozen=True)
class BilledAttempt:
    attempt_id: str
    job_id: str
    job_class: str
    offering: Offering
    hours: Decimal
    #: Sum of the attempt's billed ``EffectiveCost``.
    billed: Decimal


def billed_attempts(
    attempts: pd.DataFrame,
    jobs: pd.DataFrame,
    lines: pd.DataFrame,
    catalog: Sequence[Offering],
    job_ids: Iterable[str],
) -> list[BilledAttempt]:
    """The attempts of ``job_ids`` with billed usage, sorted by attempt id."""
    wanted = set(job_ids)
    by_key = {offering_key(o): o for o in catalog}
    cls = dict(zip(jobs["job_id"], jobs["class_key"], strict=True))
    hours: dict[str, Decimal] = defaultdict(Decimal)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for aid, qty, eff in zip(
        lines["attempt_id"], lines["PricingQuantity"], lines["EffectiveCost"], strict=True
    ):
        hours[str(aid)] += _dec(qty)
        cost[str(aid)] += Decimal(eff)
    out: list[BilledAttempt] = []
    for a in attempts.sort_values("attempt_id").to_dict(orient="records"):
        aid, job = str(a["attempt_id"]), str(a["job_id"])
        if job not in wanted or aid not in hours:
            continue
        key = (str(a["cloud"]), str(a["region"]), str(a["instance_type"]), str(a["market"]))
        out.append(
            BilledAttempt(aid, job, str(cls.get(job, "")), by_key[key], hours[aid], cost[aid])
        )
    return out


def predicted_cost(model: CostModel, a: BilledAttempt) -> Decimal:
    return model.offering(a.offering).price_per_hour * a.hours


def errors(pairs: Sequence[tuple[Decimal, Decimal]]) -> dict[str, Any]:
    """MAPE, bias and total error of (predicted, actual) pairs with actual > 0."""
    used = [(p, a) for p, a in pairs if a > 0]
    if not used:
        return {"n": 0, "billed": 0.0, "predicted": 0.0, "mape": None, "bias": None}
    rel = [(p - a) / a for p, a in used]
    billed = sum((a for _, a in used), Decimal(0))
    predicted = sum((p for p, _ in used), Decimal(0))
    return {
        "n": len(used),
        "billed": float(billed),
        "predicted": float(predicted),
        "mape": float(sum((abs(r) for r in rel), Decimal(0)) / len(rel)),
        "bias": float(sum(rel, Decimal(0)) / len(rel)),
        "total_error": float(predicted / billed - 1),
    }


def price_errors(
    billed: Sequence[BilledAttempt], models: Mapping[str, CostModel]
) -> dict[str, dict[str, Any]]:
    return {
        name: errors([(predicted_cost(m, a), a.billed) for a in billed])
        for name, m in models.items()
    }


def price_errors_by_group(
    billed: Sequence[BilledAttempt], models: Mapping[str, CostModel], truth: Truth
) -> list[dict[str, Any]]:
    """Per ``region/family/market``: the true multiplier, each model's mean price ratio
    and its errors."""
    groups: dict[str, list[BilledAttempt]] = defaultdict(list)
    for a in billed:
        o = a.offering
        groups[group_key(o.region, o.instance_type, o.market.value)].append(a)
    out = []
    for key in sorted(groups):
        members = groups[key]
        o = members[0].offering
        row: dict[str, Any] = {
            "group": key,
            "attempts": len(members),
            "billed": float(sum((a.billed for a in members), Decimal(0))),
            "true_ratio": float(truth.multiplier(o.region, o.instance_type, o.market.value)),
            "ratio": {},
            "errors": {},
        }
        for name, m in models.items():
            ratios = [
                m.price_ratio(
                    a.offering.cloud,
                    a.offering.region,
                    a.offering.instance_type,
                    a.offering.market.value,
                )
                for a in members
            ]
            row["ratio"][name] = sum(ratios) / len(ratios)
            row["errors"][name] = errors([(predicted_cost(m, a), a.billed) for a in members])
        out.append(row)
    return out


def preemption_calibration(
    attempts: pd.DataFrame,
    job_ids: Iterable[str],
    catalog: Sequence[Offering],
    models: Mapping[str, CostModel],
    truth: Truth,
) -> dict[str, dict[str, Any]]:
    """Per region (and ``"all"``): spot attempts that ran, their exposure (hours),
    observed preemptions and the expected count under each model and the truth."""
    wanted = set(job_ids)
    by_key = {offering_key(o): o for o in catalog}
    ran = attempts[
        attempts["job_id"].isin(wanted)
        & (attempts["market"] == "spot")
        & attempts["started_at"].notna()
        & attempts["ended_at"].notna()
    ]
    out: dict[str, dict[str, Any]] = {}
    for a in ran.sort_values("attempt_id").to_dict(orient="records"):
        o = by_key[(str(a["cloud"]), str(a["region"]), str(a["instance_type"]), "spot")]
        hours = max(0.0, (a["ended_at"] - a["started_at"]).total_seconds() / 3600.0)
        for region in (o.region, "all"):
            row = out.setdefault(
                region,
                {
                    "attempts": 0,
                    "exposure_hours": 0.0,
                    "observed": 0,
                    "expected": {name: 0.0 for name in (*models, "truth")},
                },
            )
            row["attempts"] += 1
            row["exposure_hours"] += hours
            row["observed"] += int(bool(a["preempted"]))
            for name, m in models.items():
                row["expected"][name] += m.offering(o).preemption_hazard_per_hour * hours
            row["expected"]["truth"] += truth.hazard_per_real_hour(o.region) * hours
    return dict(sorted(out.items(), key=lambda kv: (kv[0] == "all", kv[0])))


def _runtime_p50(model: CostModel) -> dict[str, float]:
    return {r.class_key: r.p50 for r in model.params.runtimes}


def expected_job_cost(
    o: Offering, runtime_s: float, *, checkpoint_interval_s: float, restart_overhead_s: float
) -> Decimal:
    """The solver's expected cost of running ``runtime_s`` on ``o`` (see :mod:`solver`):
    price x (runtime + launch delay), plus on spot price x hazard x runtime x (half a
    checkpoint interval + the restart overhead)."""
    price = o.price_per_hour
    hours = _dec(runtime_s) / _HOUR
    cost = price * (hours + Decimal(round(o.launch_delay_s)) / _HOUR)
    if o.market is Market.SPOT:
        lost_h = _dec(checkpoint_interval_s / 2 + restart_overhead_s) / _HOUR
        cost += price * _dec(o.preemption_hazard_per_hour) * hours * lost_h
    return cost


def job_predictions(
    billed: Sequence[BilledAttempt],
    attempts: pd.DataFrame,
    jobs: pd.DataFrame,
    models: Mapping[str, CostModel],
    *,
    checkpoint_interval_s: float,
    restart_overhead_s: float,
) -> dict[str, dict[str, Any]]:
    """Job-level errors (module docstring) over succeeded jobs with billed usage."""
    actual: dict[str, Decimal] = defaultdict(Decimal)
    for a in billed:
        actual[a.job_id] += a.billed
    first: dict[str, BilledAttempt] = {}
    created = dict(zip(attempts["attempt_id"], attempts["created_at"], strict=True))
    for a in sorted(billed, key=lambda b: (created[b.attempt_id], b.attempt_id)):
        first.setdefault(a.job_id, a)
    done = jobs[(jobs["state"] == "SUCCEEDED") & jobs["job_id"].isin(list(first))]
    estimate = dict(zip(done["job_id"], done["estimated_runtime_s"], strict=True))
    out: dict[str, dict[str, Any]] = {}
    for name, m in models.items():
        p50 = _runtime_p50(m)
        pairs = []
        for job_id in sorted(estimate):
            a = first[job_id]
            runtime = float(estimate[job_id]) * p50.get(a.job_class, 1.0)
            pred = expected_job_cost(
                m.offering(a.offering),
                runtime,
                checkpoint_interval_s=checkpoint_interval_s,
                restart_overhead_s=restart_overhead_s,
            )
            pairs.append((pred, actual[job_id]))
        out[name] = errors(pairs)
    return out


def true_offering(o: Offering, truth: Truth) -> Offering:
    """``o`` at its true price (quantized to 1e-6 $/h) and, on spot, its true hazard."""
    price = o.price_per_hour * truth.multiplier(o.region, o.instance_type, o.market.value)
    changes: dict[str, Any] = {"price_per_hour": price.quantize(_MICRO, ROUND_HALF_EVEN)}
    if o.market is Market.SPOT:
        changes["preemption_hazard_per_hour"] = truth.hazard_per_real_hour(o.region)
    return replace(o, **changes)


def plan_at_truth(
    problem: solver.Problem,
    plan: solver.Plan,
    catalog: Mapping[str, Offering],
    truth: Truth,
    job_class: Mapping[str, str],
) -> dict[str, Any]:
    """The plan's placed jobs priced at the true prices and hazards; what the plan
    believed they cost; placements per job class."""
    jobs = {j.id: j for j in problem.jobs}
    true_total = Decimal(0)
    believed = 0
    per_class: dict[str, dict[str, Any]] = {}
    placed = unplaced = late = 0
    for job_id in sorted(plan.decisions):
        d = plan.decisions[job_id]
        cls = job_class.get(job_id, "")
        row = per_class.setdefault(cls, {"jobs": 0, "true_cost": Decimal(0), "placements": {}})
        row["jobs"] += 1
        if d.offering_id is None:
            unplaced += 1
            continue
        placed += 1
        late += int(d.late)
        job = jobs[job_id]
        cost = expected_job_cost(
            true_offering(catalog[d.offering_id], truth),
            job.runtime_s,
            checkpoint_interval_s=job.checkpoint_interval_s,
            restart_overhead_s=job.restart_overhead_s,
        )
        true_total += cost
        believed += d.expected_cost_micros
        row["true_cost"] += cost
        row["placements"][d.offering_id] = row["placements"].get(d.offering_id, 0) + 1
    return {
        "placed": placed,
        "unplaced": unplaced,
        "late": late,
        "believed_cost": float(solver.money_from_micros(believed)),
        "true_cost": float(true_total),
        "by_class": {
            cls: {**row, "true_cost": float(row["true_cost"])}
            for cls, row in sorted(per_class.items())
        },
    }


def placements(offering_ids: Iterable[str]) -> str:
    """``region type market xN`` of the most common offerings, most common first."""
    counts = Counter(offering_ids)
    parts = []
    for oid, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
        _cloud, region, _zone, itype, market = oid.split("/")
        parts.append(f"{region} {itype} {'spot' if market == 'spot' else 'od'} x{n}")
    return ", ".join(parts)
