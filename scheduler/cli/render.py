"""Rich renderings of jobs and events, shared by the CLI commands and the demo."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from datetime import datetime

from rich.console import Console, RenderableType
from rich.table import Table
from rich.text import Text

from scheduler.domain import JobEvent, JobExplanation, JobState, JobView, PlanOption


def make_console(*, stderr: bool = False) -> Console:
    """A console that keeps tables readable when output goes to a file or CI log
    (rich would otherwise assume 80 columns)."""
    stream = sys.stderr if stderr else sys.stdout
    return Console(stderr=stderr, width=None if stream.isatty() else 132)


STATE_STYLE = {
    JobState.PENDING: "yellow",
    JobState.PLANNED: "cyan",
    JobState.LAUNCHING: "cyan",
    JobState.RUNNING: "bold blue",
    JobState.PREEMPTED: "magenta",
    JobState.SUCCEEDED: "green",
    JobState.FAILED: "bold red",
    JobState.CANCELLED: "dim",
}


def state_text(state: JobState) -> Text:
    return Text(state.value, style=STATE_STYLE[state])


def bar(fraction: float, width: int = 12) -> str:
    filled = round(max(0.0, min(1.0, fraction)) * width)
    return "█" * filled + "░" * (width - filled) + f" {fraction:4.0%}"


def where(job: JobView) -> str:
    if not job.attempts:
        return job.planned_offering or "-"
    p = job.attempts[-1].placement
    return f"{p.cloud}/{p.region} {p.instance_type} {p.market}"


def deadline_verdict(job: JobView, now: datetime) -> Text:
    if job.state is JobState.SUCCEEDED and job.finished_at is not None:
        ok = job.finished_at <= job.spec.deadline
        return Text("met" if ok else "MISSED", style="green" if ok else "bold red")
    if job.state.terminal:
        return Text("-", style="dim")
    left = (job.spec.deadline - now).total_seconds()
    return Text(f"in {_short(left)}" if left > 0 else "MISSED", style="" if left > 0 else "red")


def _short(seconds: float) -> str:
    s = int(seconds)
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    return f"{s // 3600}h{(s % 3600) // 60:02d}m"


def jobs_table(jobs: Sequence[JobView], now: datetime, title: str = "jobs") -> Table:
    t = Table(title=title, expand=False)
    for col in ("id", "name", "state", "progress", "att", "where", "cost $", "deadline"):
        t.add_column(col, no_wrap=col != "where")
    for j in jobs:
        t.add_row(
            j.id,
            j.spec.name,
            state_text(j.state),
            bar(j.progress),
            str(len(j.attempts)),
            where(j),
            f"{j.cost:.6f}",
            deadline_verdict(j, now),
        )
    return t


def summary_table(jobs: Sequence[JobView], now: datetime) -> Table:
    """The end-of-run table: where each job ran, attempts, cost, deadline."""
    t = Table(title="result")
    for col in (
        "job",
        "state",
        "ran on (attempt: region type market -> end)",
        "attempts",
        "preempt",
        "cost $",
        "deadline",
    ):
        t.add_column(col)
    for j in jobs:
        runs = "\n".join(
            f"{a.number}: {a.placement.region} {a.placement.instance_type} "
            f"{a.placement.market} -> {a.state.value.lower()}"
            for a in j.attempts
        )
        t.add_row(
            j.spec.name,
            state_text(j.state),
            runs or "-",
            str(len(j.attempts)),
            str(j.preemptions),
            f"{j.cost:.6f}",
            deadline_verdict(j, now),
        )
    return t


def event_line(e: JobEvent, names: dict[str, str] | None = None) -> Text:
    name = (names or {}).get(e.job_id, e.job_id)
    src = e.from_state.value if e.from_state else "-"
    t = Text(f"{e.at:%H:%M:%S} ", style="dim")
    t.append(f"{name:<16} ")
    t.append(f"{src} -> ")
    t.append(state_text(e.to_state))
    detail = f" {e.reason}" + (f" ({e.detail})" if e.detail else "")
    t.append(detail, style="dim")
    return t


def _utc(dt: datetime) -> str:
    return f"{dt:%Y-%m-%d %H:%M:%S} UTC"


def explanation_parts(e: JobExplanation) -> list[RenderableType]:
    """``skybatch explain``: the decision, the chosen option's cost breakdown, the
    alternatives with why each lost, and a note when there is nothing to explain."""
    d = e.decision
    info = Table.grid(padding=(0, 2))
    info.add_row("job", e.job_id)
    info.add_row("state", state_text(e.state))
    if d.placed:
        info.add_row("decision", f"placed on {d.offering_id}")
    else:
        reason = f": {d.reason}" if d.reason else ""
        info.add_row("decision", Text(f"not placed{reason}", style="yellow"))
    if d.start is not None:
        info.add_row("start", _utc(d.start))
    if d.expected_cost is not None:
        info.add_row("expected cost", f"${d.expected_cost}")
    if d.late:
        info.add_row("late", Text(d.reason, style="red"))
    if e.planned_at is not None:
        fits = f"{e.considered} offerings fit the job, {e.not_fitting} do not"
        info.add_row("plan", f"{_utc(e.planned_at)}; {fits}")
    if e.note:
        info.add_row("note", Text(e.note, style="dim"))
    out: list[RenderableType] = [info]
    if e.chosen is not None:
        out.append(_cost_table(e.chosen))
    if e.alternatives:
        out.append(_alternatives(e.alternatives))
    return out


def _cost_table(o: PlanOption) -> Table:
    t = Table(title="cost of the chosen placement")
    t.add_column("part")
    t.add_column("$", justify="right")
    c = o.cost
    for name, amount in (
        ("compute", c.compute),
        ("rework (spot)", c.rework),
        ("egress", c.egress),
        ("launch", c.launch),
    ):
        t.add_row(name, str(amount))
    t.add_row("total", str(c.total), style="bold")
    return t


def _alternatives(options: Sequence[PlanOption]) -> Text:
    """One line per alternative and its reason on the next, so the reason never has
    to squeeze into a narrow column."""
    width = max(len(o.offering_id) for o in options)
    t = Text("alternatives (cheapest first)\n", style="bold")
    t.append(
        f"  {'offering':<{width}}  {'start (UTC)':<16}  {'total $':>10}  lost on\n", style="dim"
    )
    for o in options:
        loss = o.loss.value if o.loss is not None else "-"
        t.append(f"  {o.offering_id:<{width}}  {o.start:%Y-%m-%d %H:%M}  {o.cost.total!s:>10}  ")
        t.append(loss, style=LOSS_STYLE.get(loss, ""))
        t.append(f"\n      {o.detail}\n", style="dim")
    t.rstrip()
    return t


LOSS_STYLE = {"price": "yellow", "quota": "magenta", "budget": "magenta", "deadline": "red"}
