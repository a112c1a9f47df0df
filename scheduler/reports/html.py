"""The SLA report as one self-contained HTML page: inline ``<style>``, inline SVG
charts (:mod:`scheduler.reports.svg`), no script, no external file, font or link, so
it opens from disk, offline, in any browser. Every string that came from users
(tenants, label values, job names, reasons) is escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from html import escape

from scheduler.reports.model import GroupStats, Miss, SlaReport, iso
from scheduler.reports.svg import BLUE, GREEN, ORANGE, RED, Series, columns, hbars

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, 'Segoe UI', sans-serif; color: #222;
       margin: 24px auto; max-width: 1100px; padding: 0 16px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.sub { color: #555; margin: 0 0 16px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(200px, 1fr));
         gap: 10px; }
.card { border: 1px solid #ddd; border-radius: 6px; padding: 10px 12px; }
.card b { display: block; font-size: 20px; } .card span { color: #555; font-size: 12px; }
.charts { display: flex; flex-wrap: wrap; gap: 18px 28px; }
table { border-collapse: collapse; font-size: 13px; margin: 4px 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: 4px 8px; text-align: right;
         vertical-align: top; }
th { background: #f6f6f6; } td.t, th.t { text-align: left; }
.wide { overflow-x: auto; } dt { font-weight: 600; margin-top: 6px; }
dd { margin-left: 16px; color: #333; } footer { color: #777; margin-top: 28px; font-size: 12px; }
"""

NA = "n/a"
PERIODS = {"min": "minute", "5min": "5 minutes", "h": "hour", "D": "day", "7D": "week"}


def money(d: Decimal | None) -> str:
    if d is None:
        return NA
    return f"-${-d:,}" if d < 0 else f"${d:,}"


def percent(d: Decimal | None) -> str:
    return NA if d is None else f"{d}%"


def duration(s: Decimal | None) -> str:
    """Seconds, as ``4.2s``, ``3m05s``, ``1h02m`` or ``2d03h``."""
    if s is None:
        return NA
    x = float(s)
    if x < 60:
        return f"{x:.1f}s"
    if x < 3600:
        return f"{int(x // 60)}m{int(x % 60):02d}s"
    if x < 86400:
        return f"{int(x // 3600)}h{int(x % 3600 // 60):02d}m"
    return f"{int(x // 86400)}d{int(x % 86400 // 3600):02d}h"


def compact(s: Decimal) -> str:
    """Seconds in the largest units that keep it exact to the second: ``90s``, ``5m``,
    ``1h30m``, ``2d``."""
    total = int(s)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size:
            out.append(f"{total // size}{unit}")
            total %= size
    return "".join(out[:2]) or "0"


def _when(report: SlaReport) -> str:
    start, end = report.range_from, report.range_to
    if start and end:
        span = f"jobs finished in [{iso(start)}, {iso(end)})"
    elif start:
        span = f"jobs finished at or after {iso(start)}"
    elif end:
        span = f"jobs finished before {iso(end)}"
    else:
        span = "all finished jobs"
    parts = [span]
    if report.tenant:
        parts.append(f"tenant {report.tenant}")
    if report.label_key:
        parts.append(f"by label {report.label_key}")
    if report.first_finished and report.last_finished:
        parts.append(
            f"first finished {iso(report.first_finished)}, last {iso(report.last_finished)}"
        )
    return "; ".join(parts)


def _cards(g: GroupStats) -> str:
    late = g.lateness
    cards = [
        (
            "Jobs finished",
            str(g.jobs),
            f"{g.succeeded} ok, {g.failed} failed, {g.cancelled} cancelled",
        ),
        ("Deadline attainment", percent(g.attainment_pct), f"{g.on_time} on time, {g.late} late"),
        (
            "Lateness p95",
            duration(late.p95_s if late else None),
            f"of {late.count} late; p50 {duration(late.p50_s)}, max {duration(late.max_s)}"
            if late
            else "no late job",
        ),
        ("Cost", money(g.cost), f"{money(g.cost_per_job)} per job"),
        ("Cost per GPU-hour", money(g.cost_per_gpu_hour), f"{g.gpu_hours} GPU-hours"),
        (
            "Spot share",
            percent(g.spot_cost_share_pct),
            f"of cost; {percent(g.spot_hours_share_pct)} of {g.node_hours} node-hours",
        ),
        (
            "Savings vs all on-demand",
            money(g.savings),
            f"{percent(g.savings_pct)} of {money(g.on_demand_cost)}",
        ),
        ("Preemptions", str(g.preemptions), f"{g.work_lost_hours} hours of work lost"),
    ]
    return "".join(
        f'<div class="card"><span>{escape(title)}</span><b>{escape(value)}</b>'
        f"<span>{escape(note)}</span></div>"
        for title, value, note in cards
    )


def _charts(report: SlaReport) -> list[str]:
    out = []
    for name, rows in (("tenant", report.by_tenant), (report.label_key or "", report.by_label)):
        if not rows:
            continue
        attained = [g for g in rows if g.attainment_pct is not None]
        out.append(
            hbars(
                f"Deadline attainment by {name}",
                [
                    (
                        g.group,
                        [float(g.attainment_pct or 0)],
                        f"{g.attainment_pct}% ({g.on_time}/{g.succeeded + g.failed})",
                    )
                    for g in attained
                ],
                [Series("attainment", GREEN)],
                scale_max=100.0,
            )
        )
        out.append(
            hbars(
                f"Cost by {name}: spot and on-demand",
                [
                    (g.group, [float(g.spot_cost), float(g.cost - g.spot_cost)], money(g.cost))
                    for g in rows
                ],
                [Series("spot", ORANGE), Series("on-demand", BLUE)],
            )
        )
    out.append(
        columns(
            "Late jobs by lateness (from)",
            [(compact(b.low_s), [float(b.count)]) for b in report.lateness_histogram],
            [Series("late jobs", RED)],
            fmt=lambda v: f"{v:g}",
            counts=True,
        )
    )
    periods = report.cost_over_time
    if report.cost_period in ("D", "7D"):
        stamp = "%Y-%m-%d"
    elif len({p.start.date() for p in periods}) == 1:
        stamp = "%H:%M"
    else:
        stamp = "%m-%d %H:%M"
    out.append(
        columns(
            f"Cost over time (per {PERIODS.get(report.cost_period, report.cost_period)}, "
            "by when attempts ended)",
            [(p.start.strftime(stamp), [float(p.spot), float(p.on_demand)]) for p in periods],
            [Series("spot", ORANGE), Series("on-demand", BLUE)],
            fmt=lambda v: f"${v:.4g}",
        )
    )
    return out


GROUP_HEADERS = (
    "group", "jobs", "ok", "failed", "cancelled", "attainment", "late", "p50", "p95", "max",
    "cost", "per job", "per GPU-h", "spot cost", "spot hours", "preempt.", "work lost h",
    "savings",
)  # fmt: skip


def _group_row(g: GroupStats) -> list[str]:
    late = g.lateness
    return [
        g.group if g.dimension == "all" else f"{g.dimension}={g.group}",
        str(g.jobs),
        str(g.succeeded),
        str(g.failed),
        str(g.cancelled),
        percent(g.attainment_pct),
        str(g.late),
        duration(late.p50_s) if late else NA,
        duration(late.p95_s) if late else NA,
        duration(late.max_s) if late else NA,
        money(g.cost),
        money(g.cost_per_job),
        money(g.cost_per_gpu_hour),
        percent(g.spot_cost_share_pct),
        percent(g.spot_hours_share_pct),
        str(g.preemptions),
        str(g.work_lost_hours),
        f"{money(g.savings)} ({percent(g.savings_pct)})",
    ]


MISS_HEADERS = (
    "job", "tenant", "name", "label", "state", "deadline", "late by", "queued", "ran",
    "estimate", "attempts", "preempt.", "cost", "reason",
)  # fmt: skip
_TEXT_COLUMNS = {"group", "job", "tenant", "name", "label", "state", "deadline", "reason"}


def _miss_row(m: Miss) -> list[str]:
    return [
        m.job_id,
        m.tenant,
        m.name,
        m.label,
        m.state,
        iso(m.deadline),
        duration(m.lateness_s) if m.lateness_s is not None else "-",
        duration(m.queued_s),
        duration(m.run_s),
        duration(m.estimated_s),
        str(m.attempts),
        str(m.preemptions),
        money(m.cost),
        m.reason,
    ]


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    def cls(h: str) -> str:
        return ' class="t"' if h in _TEXT_COLUMNS else ""

    head = "".join(f"<th{cls(h)}>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td{cls(h)}>{escape(v)}</td>" for h, v in zip(headers, r, strict=True))
        + "</tr>"
        for r in rows
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'<div class="wide">{table}</div>'


DEFINITIONS = (
    ("Jobs finished", "Jobs that reached SUCCEEDED, FAILED or CANCELLED in the range; each "
     "counts whole there, with all its attempts."),
    ("Deadline attainment", "Succeeded by the deadline / (succeeded + failed). A failure is a "
     "miss; a cancelled job counts in neither."),
    ("Lateness", "finished - deadline of the jobs that succeeded late; p50 and p95 are "
     "nearest-rank percentiles (always an observed value)."),
    ("Cost", "The attempts' computed cost (list price x charged time, as the store prices an "
     "attempt when it ends); per job: cost / jobs."),
    ("Node-hours, GPU-hours", "Each attempt's run time (started to ended); GPU-hours also x "
     "the job's GPU count. Cost per GPU-hour: the GPU jobs' cost / their GPU-hours."),
    ("Spot share", "The spot attempts' share of the cost, and of the node-hours."),
    ("Work lost", "Per preemption: the progress last reported minus the checkpoint the job "
     "resumed from, times its estimated runtime (a lower bound: heartbeats lag)."),
    ("Savings", "The same attempts re-priced all on demand (the nearest on-demand attempt of "
     "the same cloud, region and type, else the price list), minus the cost."),
    ("Worst misses", "Failures first, then late jobs, by how far past the deadline; the "
     "reason is the job's last setback in its events."),
)  # fmt: skip


def render(report: SlaReport) -> str:
    """The whole page."""
    groups = [_group_row(g) for g in report.groups]
    misses = [_miss_row(m) for m in report.worst_misses]
    charts = "".join(f"<figure>{c}</figure>" for c in _charts(report))
    definitions = "".join(f"<dt>{escape(t)}</dt><dd>{escape(d)}</dd>" for t, d in DEFINITIONS)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>skybatch SLA report</title><style>{STYLE}</style></head><body>"
        f'<h1>SLA report</h1><p class="sub">{escape(_when(report))}</p>'
        f'<section class="cards">{_cards(report.overall)}</section>'
        f'<h2>Charts</h2><section class="charts">{charts}</section>'
        f"<h2>By group</h2>{_table(GROUP_HEADERS, groups)}"
        f"<h2>Worst misses</h2>"
        + (_table(MISS_HEADERS, misses) if misses else "<p>No job failed or finished late.</p>")
        + f"<h2>Definitions</h2><dl>{definitions}</dl>"
        f"<footer>On-demand prices for the savings: store attempts, else "
        f"{escape(report.price_catalog or 'no price list')}. "
        f"{report.overall.unpriced_spot_attempts} spot attempts had no on-demand price. "
        f"Report schema {report.schema_version}. Times are UTC.</footer>"
        "</body></html>\n"
    )
