"""The worst misses of an SLA report, and why each happened (from the job's events)."""

from __future__ import annotations

from collections.abc import Sequence

from scheduler.reports.exact import US_PER_S, money, seconds, us
from scheduler.reports.facts import Event, Facts, Job
from scheduler.reports.model import Miss

#: States a job holds while it is on its way to run (a fall back from them is a setback).
_ON_ITS_WAY = {"PLANNED", "LAUNCHING", "RUNNING"}


def miss_reason(job: Job, events: Sequence[Event], run_us: int) -> str:
    """Why a job missed, from its events:

    1. a failed or cancelled job: its final event's reason (and detail);
    2. else its last setback: a preemption, or a fall back to PENDING from PLANNED,
       LAUNCHING or RUNNING (a failed launch, a lost node, a retried exit);
    3. else a plan that knew it would be late (``planned ... (late: ...)``);
    4. else what the times say: it ran longer than estimated, or it waited to launch.

    The reasons a pending job waited (``waiting: quota full ...``) are not events (the
    store keeps only the latest, as the job's ``state_reason``), so they cannot appear.
    """
    if job.state in ("FAILED", "CANCELLED") and events and events[-1].to_state == job.state:
        return _event_text(events[-1], with_state=False)
    for e in reversed(events):
        if e.to_state == "PREEMPTED" or (e.to_state == "PENDING" and e.from_state in _ON_ITS_WAY):
            return _event_text(e, with_state=True)
    for e in reversed(events):
        if e.to_state == "PLANNED" and "(late:" in e.detail:
            return f"planned late: {e.detail}"
    if run_us > job.estimated_us:
        return (
            f"no setback recorded; ran {_short(run_us)} against an estimated "
            f"{_short(job.estimated_us)}"
        )
    queued = queued_us(job, events)
    waited = f"; waited {_short(queued)} to launch" if queued is not None else ""
    return f"no setback recorded{waited}"


def queued_us(job: Job, events: Sequence[Event]) -> int | None:
    """Submission to the first launch (None if it never launched)."""
    first = next((e.at for e in events if e.to_state == "LAUNCHING"), None)
    return None if first is None else max(0, us(first - job.created_at))


def worst_misses(
    facts: Sequence[Facts], events: dict[str, list[Event]], n: int, *, labelled: bool
) -> tuple[Miss, ...]:
    """The ``n`` worst: failures first, then late successes; each by how far past its
    deadline it finished, most first; ties by job id."""
    missed = [f for f in facts if f.outcome in ("failed", "late")]
    missed.sort(
        key=lambda f: (
            f.outcome != "failed",
            -us(f.job.finished_at - f.job.deadline),
            f.job.job_id,
        )
    )
    out = []
    for f in missed[:n]:
        mine = events.get(f.job.job_id, [])
        queued = queued_us(f.job, mine)
        out.append(
            Miss(
                job_id=f.job.job_id,
                tenant=f.job.tenant,
                name=f.job.name,
                label=f.label if labelled else "",
                state=f.job.state,
                deadline=f.job.deadline,
                finished_at=f.job.finished_at,
                lateness_s=seconds(f.lateness_us) if f.lateness_us is not None else None,
                queued_s=seconds(queued) if queued is not None else None,
                run_s=seconds(f.node_us),
                estimated_s=seconds(f.job.estimated_us),
                attempts=len(f.attempts),
                preemptions=f.preemptions,
                cost=money(f.cost_micros),
                reason=miss_reason(f.job, mine, f.node_us),
            )
        )
    return tuple(out)


def _event_text(e: Event, *, with_state: bool) -> str:
    text = f"{e.to_state.lower()}: {e.reason}" if with_state else e.reason
    return f"{text} ({e.detail})" if e.detail else text


def _short(microseconds: int) -> str:
    s = microseconds / US_PER_S
    if s < 60:
        return f"{s:.1f}s"
    if s < 3600:
        return f"{int(s // 60)}m{int(s % 60):02d}s"
    return f"{int(s // 3600)}h{int(s % 3600 // 60):02d}m"
