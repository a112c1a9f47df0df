"""The SLA report as CSV: one table of groups, one of the worst misses.

Numbers as in the JSON (exact decimals, ISO 8601 UTC times); a missing value is an
empty cell. A text cell that a spreadsheet would run as a formula (starting with
``=``, ``+``, ``-``, ``@``, tab or CR) gets a leading ``'``: tenants, names and
reasons are user input.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from scheduler.reports.model import SlaReport, iso

GROUP_COLUMNS: tuple[str, ...] = (
    "dimension",
    "group",
    "jobs",
    "succeeded",
    "failed",
    "cancelled",
    "on_time",
    "late",
    "attainment_pct",
    "lateness_p50_s",
    "lateness_p95_s",
    "lateness_max_s",
    "cost",
    "cost_per_job",
    "spot_cost",
    "spot_cost_share_pct",
    "node_hours",
    "spot_node_hours",
    "spot_hours_share_pct",
    "gpu_hours",
    "cost_per_gpu_hour",
    "attempts",
    "preemptions",
    "work_lost_hours",
    "on_demand_cost",
    "savings",
    "savings_pct",
    "unpriced_spot_attempts",
)

MISS_COLUMNS: tuple[str, ...] = (
    "rank",
    "job_id",
    "tenant",
    "name",
    "label",
    "state",
    "deadline",
    "finished_at",
    "lateness_s",
    "queued_s",
    "run_s",
    "estimated_s",
    "attempts",
    "preemptions",
    "cost",
    "reason",
)

_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if hasattr(value, "isoformat"):
        return iso(value)
    text = str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def _write(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    for r in rows:
        w.writerow([cell(v) for v in r])
    return out.getvalue()


def groups_csv(report: SlaReport) -> str:
    rows = []
    for g in report.groups:
        late = g.lateness
        values = {
            **{f: getattr(g, f) for f in GROUP_COLUMNS if hasattr(g, f)},
            "lateness_p50_s": late.p50_s if late else None,
            "lateness_p95_s": late.p95_s if late else None,
            "lateness_max_s": late.max_s if late else None,
        }
        rows.append([values[c] for c in GROUP_COLUMNS])
    return _write(GROUP_COLUMNS, rows)


def misses_csv(report: SlaReport) -> str:
    rows = [
        [i, *(getattr(m, c) for c in MISS_COLUMNS[1:])]
        for i, m in enumerate(report.worst_misses, start=1)
    ]
    return _write(MISS_COLUMNS, rows)
