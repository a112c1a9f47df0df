"""The costliest jobs: what each cost (computed and billed), where it ran, how often."""

from __future__ import annotations

from decimal import Decimal

import pandas as pd

from scheduler.analysis.money import ZERO, to_decimal
from scheduler.costs.frames import rows as records
from solver.money import from_micros

#: Columns of :func:`costliest_jobs`'s frame.
COSTLIEST_COLUMNS: tuple[str, ...] = (
    "job_id",
    "tenant",
    "name",
    "state",
    "cost",
    "billed",
    "attempts",
    "preemptions",
    "markets",
    "instance_types",
    "regions",
    "labels",
)


def _joined(values: pd.Series) -> str:
    return ",".join(sorted({str(v) for v in values}))


def costliest_jobs(
    jobs: pd.DataFrame,
    attempts: pd.DataFrame,
    labels: pd.DataFrame,
    lines: pd.DataFrame | None = None,
    *,
    n: int = 10,
) -> pd.DataFrame:
    """The ``n`` jobs that cost most (computed cost, exact ``Decimal``; ties by job id),
    :data:`COSTLIEST_COLUMNS`. ``billed`` sums the matched lines of the job's attempts
    (None when none was billed); ``labels`` is ``key=value`` pairs, sorted."""
    if n < 1:
        raise ValueError(f"n must be >= 1, got {n}")
    by_job = {str(j): g for j, g in attempts.groupby("job_id", sort=False)} if len(attempts) else {}
    job_of = dict(
        zip(attempts["attempt_id"].astype(str), attempts["job_id"].astype(str), strict=True)
    )
    billed: dict[str, Decimal] = {}
    if lines is not None:
        matched = lines[lines["attempt_id"].notna()]
        for attempt_id, cost in zip(matched["attempt_id"], matched["BilledCost"], strict=True):
            job_id = job_of.get(str(attempt_id))
            if job_id is not None:
                billed[job_id] = billed.get(job_id, ZERO) + (to_decimal(cost) or ZERO)
    label_text = (
        {
            str(j): ",".join(f"{k}={v}" for k, v in sorted(zip(g["key"], g["value"], strict=True)))
            for j, g in labels.groupby("job_id", sort=False)
        }
        if len(labels)
        else {}
    )
    ranked = jobs.assign(_cost=jobs["cost_micros"].astype("int64")).sort_values(
        ["_cost", "job_id"], ascending=[False, True], kind="stable"
    )
    rows = []
    for j in records(ranked.head(n)):
        job_id = str(j["job_id"])
        mine = by_job.get(job_id)
        rows.append(
            (
                job_id,
                str(j["tenant"]),
                str(j["name"]),
                str(j["state"]),
                from_micros(int(j["cost_micros"])),
                billed.get(job_id),
                0 if mine is None else len(mine),
                int(j["preemptions"]),
                "" if mine is None else _joined(mine["market"]),
                "" if mine is None else _joined(mine["instance_type"]),
                "" if mine is None else _joined(mine["region"]),
                label_text.get(job_id, ""),
            )
        )
    out = pd.DataFrame.from_records(rows, columns=list(COSTLIEST_COLUMNS))
    for name in ("cost", "billed"):
        out[name] = out[name].astype(object)
    return out
