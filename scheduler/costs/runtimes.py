"""Runtime error per job class: actual / estimated runtime, and the planner's factor.

A sample is one SUCCEEDED job with a positive estimate. Its actual runtime is read
from its final attempt (the one that ended last among those that started): that
attempt ran without interruption from ``start_progress`` (restored from a checkpoint)
to the end, so the whole job would have taken::

    actual_s = (ended_at - started_at) / (1 - start_progress)

For a job that ran once this is just ``ended_at - started_at``. Work redone after a
preemption (progress since the last checkpoint) is thereby not counted: it is the
price of preemption, not an error of the estimate. A job is skipped (and counted, by
reason) when its final attempt was preempted, ran for no time, or did less than
``runtime_min_final_fraction`` of the work, since extrapolating from a short tail
would mostly measure restart overhead.

Per class the factor is the ``runtime_quantile`` (p90 by default) of
``actual_s / estimated_runtime_s`` shrunk toward ``runtime_prior_factor`` with
``runtime_prior_samples`` pseudo-samples, clamped to ``[runtime_factor_min,
runtime_factor_max]``. A factor below 1 is kept: a class that always finishes early
has pessimistic estimates already.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from scheduler.costs.frames import SUCCEEDED, rows
from scheduler.costs.params import RuntimeFactor
from scheduler.costs.settings import RefitSettings
from scheduler.costs.shrinkage import clamp, credibility

#: Columns of :func:`runtime_samples`'s frame; ``ended_at`` is the final attempt's.
SAMPLE_COLUMNS: tuple[str, ...] = (
    "job_id",
    "class_key",
    "estimated_runtime_s",
    "actual_s",
    "ratio",
    "ended_at",
)


def runtime_samples(
    attempts: pd.DataFrame, jobs: pd.DataFrame, knobs: RefitSettings
) -> tuple[pd.DataFrame, dict[str, int]]:
    """One sample per usable succeeded job (:data:`SAMPLE_COLUMNS`), and how many jobs
    were skipped for each reason."""
    ran = attempts[attempts["started_at"].notna() & attempts["ended_at"].notna()]
    ran = ran.sort_values(["job_id", "ended_at", "attempt_id"], kind="stable")
    final = {str(a["job_id"]): a for a in rows(ran.drop_duplicates("job_id", keep="last"))}
    skipped: Counter[str] = Counter()
    samples = []
    for j in rows(jobs[jobs["state"].str.upper() == SUCCEEDED]):
        estimate = float(j["estimated_runtime_s"])
        a = final.get(str(j["job_id"]))
        if not estimate > 0:  # also NaN
            skipped["no_estimate"] += 1
            continue
        if a is None:
            skipped["no_attempt"] += 1
            continue
        if bool(a["preempted"]):
            skipped["final_preempted"] += 1
            continue
        share = 1.0 - float(a["start_progress"])
        if share < knobs.runtime_min_final_fraction:
            skipped["final_fraction_small"] += 1
            continue
        duration = float((a["ended_at"] - a["started_at"]).total_seconds())
        if duration <= 0:
            skipped["no_duration"] += 1
            continue
        actual = duration / share
        samples.append(
            (
                str(j["job_id"]),
                str(j["class_key"]),
                estimate,
                actual,
                actual / estimate,
                a["ended_at"],
            )
        )
    out = pd.DataFrame(samples, columns=list(SAMPLE_COLUMNS))
    out["ended_at"] = pd.to_datetime(out["ended_at"], utc=True)
    for c in ("estimated_runtime_s", "actual_s", "ratio"):
        out[c] = out[c].astype("float64")
    return out, dict(sorted(skipped.items()))


def fit_runtimes(samples: pd.DataFrame, knobs: RefitSettings) -> tuple[RuntimeFactor, ...]:
    """One factor per class with at least one sample."""
    out = []
    for class_key, group in samples.groupby("class_key", sort=True):
        ratios = np.sort(group["ratio"].to_numpy(dtype=np.float64))
        p50, p90, p95, upper = (
            float(q) for q in np.quantile(ratios, [0.5, 0.9, 0.95, knobs.runtime_quantile])
        )
        n = len(ratios)
        factor = clamp(
            credibility(upper, n, knobs.runtime_prior_factor, knobs.runtime_prior_samples),
            knobs.runtime_factor_min,
            knobs.runtime_factor_max,
        )
        out.append(
            RuntimeFactor(
                class_key=str(class_key),
                n=n,
                p50=p50,
                p90=p90,
                p95=p95,
                upper=upper,
                factor=factor,
            )
        )
    return tuple(out)
