"""The SLA report, computed from frames: no I/O, no clock, inputs never modified.

``sla_report(inputs, start=..., end=..., tenant=..., label_key=...)`` takes the jobs
that finished (SUCCEEDED, FAILED or CANCELLED) in ``[start, end)`` and reports them
overall, per tenant and per value of one label. A job counts whole in the range it
finished in: all its attempts' cost and hours, whenever they ran.

Definitions (docs/reports.md says the same at more length):

- outcome: *on time* (succeeded, ``finished_at <= deadline``), *late* (succeeded
  after it), *failed*, *cancelled*. Attainment = on time / (succeeded + failed):
  a failure is a miss; a cancellation is the user's decision and counts in neither.
- lateness: ``finished_at - deadline`` of the late jobs only; p50 and p95 are
  nearest-rank percentiles (the value at rank ``ceil(p/100 x n)``), so always an
  observed lateness; ``max`` the largest.
- cost: the sum of the jobs' attempts' ``cost_micros`` (list price x charged time,
  as the store prices an attempt when it ends; an attempt still running adds 0).
  Cost per job = cost / jobs; spot cost = the attempts on the ``spot`` market.
- node-hours: each attempt's run time, ``ended_at - started_at`` (0 when it never
  started or has not ended); GPU-hours: node-hours x the job's ``gpu_count``. Cost
  per GPU-hour = the GPU jobs' cost / their GPU-hours (None without GPU-hours).
- preemptions: attempts ended by a preemption. Work lost by one: the progress it had
  reported (its last heartbeat) minus the checkpoint the job resumed from, at least
  0, times the job's estimated runtime (:func:`~scheduler.reports.facts.work_lost_us`).
  Heartbeats lag, so this is a lower bound.
- savings: :func:`scheduler.analysis.counterfactual_on_demand` re-prices every spot
  attempt at its on-demand price (the nearest on-demand attempt of the same
  cloud/region/type, else ``inputs.prices``); savings = that - cost.
- worst misses: :func:`scheduler.reports.misses.worst_misses`.

All arithmetic is on integers (micro-dollars, microseconds), rounded half to even
once, at the end (:mod:`scheduler.reports.exact`): money and hours to 6 places,
percentages to 2.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pandas as pd

from scheduler.analysis import attempt_spend, auto_freq, spend_by
from scheduler.analysis.money import rescale_micros, to_decimal
from scheduler.analysis.spend import NONE
from scheduler.costs.frames import rows as records
from scheduler.errors import InvalidArgument
from scheduler.reports.exact import (
    US_PER_HOUR,
    US_PER_S,
    hours,
    money,
    nearest_rank,
    pct,
    seconds,
)
from scheduler.reports.facts import (
    SPOT,
    Facts,
    attempts_of,
    events_of,
    facts,
    finished_jobs,
    label_values,
    repriced,
    time,
)
from scheduler.reports.misses import worst_misses
from scheduler.reports.model import CostPeriod, GroupStats, HistogramBin, Lateness, SlaReport

#: Columns the jobs frame needs besides :data:`scheduler.store.history.JOB_COLUMNS`.
JOB_EXTRA_COLUMNS: tuple[str, ...] = ("gpu_count", "checkpoint_progress")
#: Columns of the events frame (one row per ``job_events`` row).
EVENT_COLUMNS: tuple[str, ...] = (
    "seq",
    "job_id",
    "from_state",
    "to_state",
    "at",
    "reason",
    "detail",
    "attempt_id",
)

ALL = "all"
DEFAULT_WORST = 10
MAX_WORST = 1000
#: Most bins of the lateness histogram.
MAX_BINS = 12
#: Bin widths the lateness histogram chooses from, in seconds.
NICE_WIDTHS_S = (
    1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200,
    86400, 172800, 604800,
)  # fmt: skip
_MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class SlaInputs:
    """The frames the report reads (:mod:`scheduler.reports.load` reads them from a
    store; a simulator can build them itself).

    ``jobs``: :data:`scheduler.store.history.JOB_COLUMNS` + :data:`JOB_EXTRA_COLUMNS`;
    ``attempts``: :data:`scheduler.store.history.ATTEMPT_COLUMNS`; ``events``:
    :data:`EVENT_COLUMNS` (at least those of the reported jobs); ``labels``: ``job_id,
    key, value``; ``prices``: a price table for the savings (see
    :mod:`scheduler.analysis.counterfactual`), named by ``price_catalog``.
    """

    jobs: pd.DataFrame
    attempts: pd.DataFrame
    events: pd.DataFrame
    labels: pd.DataFrame
    prices: pd.DataFrame | None = None
    price_catalog: str = ""


def check_range(start: datetime | None, end: datetime | None, from_name: str, to_name: str) -> None:
    """Raise :class:`InvalidArgument` naming the field unless ``[start, end)`` is made of
    timezone-aware times with ``start < end`` (either may be None: no bound)."""
    for name, t in ((from_name, start), (to_name, end)):
        if t is not None and t.utcoffset() is None:
            raise InvalidArgument(name, "needs a timezone (e.g. Z)")
    if start is not None and end is not None and end <= start:
        raise InvalidArgument(to_name, f"must be after {from_name} ({start.isoformat()})")


def sla_report(
    inputs: SlaInputs,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    tenant: str | None = None,
    label_key: str | None = None,
    worst: int = DEFAULT_WORST,
) -> SlaReport:
    """The report of the jobs that finished in ``[start, end)`` (see the module
    docstring); ``tenant`` keeps one tenant's, ``label_key`` adds a row per value of
    that label, ``worst`` is how many misses to list."""
    check_range(start, end, "from", "to")
    if not 0 <= worst <= MAX_WORST:
        raise InvalidArgument("worst", f"must be 0..{MAX_WORST}, got {worst}")
    tenant, label_key = tenant or None, label_key or None
    jobs = finished_jobs(inputs.jobs, start, end, tenant)
    ids = {j.job_id for j in jobs}
    attempts = attempts_of(inputs.attempts, ids)
    prices = repriced(inputs.attempts, inputs.prices)
    labels = label_values(inputs.labels, label_key, ids) if label_key else {}
    per_job = [
        facts(j, attempts.get(j.job_id, []), prices, labels.get(j.job_id, NONE)) for j in jobs
    ]
    period, over_time = cost_over_time(inputs, ids)
    return SlaReport(
        range_from=start,
        range_to=end,
        tenant=tenant,
        label_key=label_key,
        first_finished=jobs[0].finished_at if jobs else None,
        last_finished=max(j.finished_at for j in jobs) if jobs else None,
        overall=group_stats(ALL, ALL, per_job),
        by_tenant=_grouped("tenant", per_job, lambda f: f.job.tenant),
        by_label=_grouped(f"label:{label_key}", per_job, lambda f: f.label) if label_key else (),
        worst_misses=worst_misses(
            per_job, events_of(inputs.events, ids), worst, labelled=label_key is not None
        ),
        lateness_histogram=histogram(f.lateness_us or 0 for f in per_job),
        cost_period=period,
        cost_over_time=over_time,
        price_catalog=inputs.price_catalog,
    )


def group_stats(dimension: str, group: str, facts: Sequence[Facts]) -> GroupStats:
    """One row of the report: the jobs ``facts`` added up."""
    outcomes = [f.outcome for f in facts]
    on_time, late, failed, cancelled = (
        outcomes.count(k) for k in ("on_time", "late", "failed", "cancelled")
    )
    lateness = sorted(f.lateness_us for f in facts if f.lateness_us is not None)
    cost = sum(f.cost_micros for f in facts)
    spot = sum(f.spot_micros for f in facts)
    node_us = sum(f.node_us for f in facts)
    spot_us = sum(f.spot_us for f in facts)
    gpu_us = sum(f.gpu_us for f in facts)
    gpu_cost = sum(f.cost_micros for f in facts if f.job.gpu_count > 0)
    on_demand = sum(f.on_demand_micros for f in facts)
    return GroupStats(
        dimension=dimension,
        group=group,
        jobs=len(facts),
        succeeded=on_time + late,
        failed=failed,
        cancelled=cancelled,
        on_time=on_time,
        late=late,
        attainment_pct=pct(on_time, on_time + late + failed),
        lateness=Lateness(
            count=len(lateness),
            p50_s=seconds(nearest_rank(lateness, 50)),
            p95_s=seconds(nearest_rank(lateness, 95)),
            max_s=seconds(lateness[-1]),
        )
        if lateness
        else None,
        cost=money(cost),
        cost_per_job=money(rescale_micros(cost, 1, len(facts))) if facts else None,
        spot_cost=money(spot),
        spot_cost_share_pct=pct(spot, cost),
        node_hours=hours(node_us),
        spot_node_hours=hours(spot_us),
        spot_hours_share_pct=pct(spot_us, node_us),
        gpu_hours=hours(gpu_us),
        cost_per_gpu_hour=money(rescale_micros(gpu_cost, US_PER_HOUR, gpu_us)) if gpu_us else None,
        attempts=sum(len(f.attempts) for f in facts),
        preemptions=sum(f.preemptions for f in facts),
        work_lost_hours=hours(sum(f.lost_us for f in facts)),
        on_demand_cost=money(on_demand),
        savings=money(on_demand - cost),
        savings_pct=pct(on_demand - cost, on_demand),
        unpriced_spot_attempts=sum(f.unpriced for f in facts),
    )


def _grouped(
    dimension: str, facts: Sequence[Facts], key: Callable[[Facts], str]
) -> tuple[GroupStats, ...]:
    groups: dict[str, list[Facts]] = defaultdict(list)
    for f in facts:
        groups[key(f)].append(f)
    return tuple(group_stats(dimension, g, groups[g]) for g in sorted(groups))


def histogram(lateness_us: Iterable[int]) -> tuple[HistogramBin, ...]:
    """The positive latenesses in at most :data:`MAX_BINS` equal bins from 0, of the
    smallest width of :data:`NICE_WIDTHS_S` that covers the largest (beyond a week
    per bin: the width that just covers it)."""
    values = sorted(v for v in lateness_us if v > 0)
    if not values:
        return ()
    top = values[-1]
    nice = next((w * US_PER_S for w in NICE_WIDTHS_S if w * US_PER_S * MAX_BINS > top), None)
    width = nice or -(-(top + 1) // MAX_BINS)
    counts = [0] * (top // width + 1)
    for v in values:
        counts[v // width] += 1
    return tuple(
        HistogramBin(seconds(i * width), seconds((i + 1) * width), c) for i, c in enumerate(counts)
    )


def cost_over_time(inputs: SlaInputs, ids: set[str]) -> tuple[str, tuple[CostPeriod, ...]]:
    """The cost of the jobs ``ids``' attempts by the period they ended in (an attempt
    not ended counts at its start; :func:`scheduler.analysis.attempt_spend`), spot and
    the rest, per period of :func:`scheduler.analysis.auto_freq`."""
    attempts = inputs.attempts[inputs.attempts["job_id"].astype(str).isin(ids)]
    if attempts.empty:
        return "h", ()
    jobs = inputs.jobs[inputs.jobs["job_id"].astype(str).isin(ids)]
    no_labels = pd.DataFrame({"job_id": [], "key": [], "value": []}, dtype=str)
    spend = attempt_spend(attempts, jobs, no_labels)
    freq = auto_freq(spend["at"])
    table = spend_by(spend, "market", freq=freq)
    out = []
    for period, row in zip(table.index, records(table), strict=True):
        spot = to_decimal(row.get(SPOT)) or Decimal(0)
        rest = sum((to_decimal(v) or Decimal(0) for k, v in row.items() if k != SPOT), Decimal(0))
        start = time(period)
        assert start is not None
        out.append(
            CostPeriod(start=start, spot=spot.quantize(_MICRO), on_demand=rest.quantize(_MICRO))
        )
    return freq, tuple(out)
