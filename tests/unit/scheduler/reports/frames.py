"""Hand-built report inputs: jobs, attempts, events and labels shaped like the store's
frames, every number chosen so that a test can state the exact answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd

from scheduler.analysis.load import LABEL_COLUMNS
from scheduler.reports.sla import EVENT_COLUMNS, JOB_EXTRA_COLUMNS, SlaInputs
from scheduler.store.history import ATTEMPT_COLUMNS, JOB_COLUMNS

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)

_TERMINAL_REASON = {"SUCCEEDED": "succeeded", "FAILED": "command exited with 3",
                    "CANCELLED": "cancelled"}  # fmt: skip


@dataclass
class Frames:
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    attempts: list[dict[str, Any]] = field(default_factory=list)
    labels: list[tuple[str, str, str]] = field(default_factory=list)
    #: Per job: the events between submission and the final one.
    events: dict[str, list[tuple[str, str, datetime, str, str]]] = field(default_factory=dict)
    final: dict[str, tuple[str, str]] = field(default_factory=dict)

    def job(
        self,
        job_id: str,
        *,
        tenant: str = "t1",
        state: str = "SUCCEEDED",
        finished: datetime | None = T0 + HOUR,
        deadline: datetime = T0 + 2 * HOUR,
        created: datetime = T0,
        estimate: timedelta = HOUR,
        gpus: int = 0,
        checkpoint: float = 0.0,
        labels: dict[str, str] | None = None,
        final_detail: str = "",
        name: str | None = None,
    ) -> str:
        self.jobs[job_id] = {
            "job_id": job_id,
            "tenant": tenant,
            "name": name or job_id,
            "class_key": "c",
            "estimated_runtime_s": estimate.total_seconds(),
            "state": state,
            "created_at": created,
            "deadline": deadline,
            "finished_at": finished,
            "cost_micros": 0,
            "preemptions": 0,
            "spot_allowed": True,
            "gpu_count": gpus,
            "checkpoint_progress": checkpoint,
        }
        self.labels += [(job_id, k, v) for k, v in sorted((labels or {}).items())]
        self.events[job_id] = []
        self.final[job_id] = (_TERMINAL_REASON.get(state, ""), final_detail)
        return job_id

    def attempt(
        self,
        job_id: str,
        *,
        market: str = "on-demand",
        start: datetime = T0,
        minutes: float = 60.0,
        price: int = 1_000_000,
        cost: int | None = None,
        preempted: bool = False,
        progress: float = 1.0,
        start_progress: float = 0.0,
        started: bool = True,
        region: str = "us-central1",
        instance_type: str = "e2-standard-2",
    ) -> str:
        attempt_id = f"a{len(self.attempts):03d}"
        cost = round(price * minutes / 60) if cost is None else cost
        self.attempts.append(
            {
                "attempt_id": attempt_id,
                "job_id": job_id,
                "cloud": "local",
                "region": region,
                "zone": f"{region}-a",
                "instance_type": instance_type,
                "market": market,
                "list_price_micros_per_hour": price,
                "created_at": start,
                "started_at": start if started else None,
                "ended_at": start + timedelta(minutes=minutes),
                "preempted": preempted,
                "end_reason": "preempted" if preempted else "exit 0",
                "start_progress": start_progress,
                "end_progress": progress,
                "state": "PREEMPTED" if preempted else "SUCCEEDED",
                "cost_micros": cost,
            }
        )
        self.jobs[job_id]["cost_micros"] += cost
        self.jobs[job_id]["preemptions"] += int(preempted)
        return attempt_id

    def event(
        self,
        job_id: str,
        from_state: str,
        to_state: str,
        at: datetime,
        reason: str,
        detail: str = "",
    ) -> None:
        self.events[job_id].append((from_state, to_state, at, reason, detail))

    def inputs(self, prices: pd.DataFrame | None = None) -> SlaInputs:
        jobs = pd.DataFrame(list(self.jobs.values()), columns=[*JOB_COLUMNS, *JOB_EXTRA_COLUMNS])
        for name in ("created_at", "deadline", "finished_at"):
            jobs[name] = pd.to_datetime(jobs[name], utc=True)
        attempts = pd.DataFrame(self.attempts, columns=list(ATTEMPT_COLUMNS))
        for name in ("created_at", "started_at", "ended_at"):
            attempts[name] = pd.to_datetime(attempts[name], utc=True)
        attempts = attempts.astype(
            {"preempted": bool, "list_price_micros_per_hour": "int64", "cost_micros": "int64"}
        )
        rows = []
        for job_id, j in self.jobs.items():
            rows.append((job_id, "", "PENDING", j["created_at"], "submitted", ""))
            rows += [(job_id, *e) for e in self.events[job_id]]
            if j["finished_at"] is not None:
                reason, detail = self.final[job_id]
                rows.append((job_id, "RUNNING", j["state"], j["finished_at"], reason, detail))
        events = pd.DataFrame(
            [(seq, j, f, t, at, r, d, "") for seq, (j, f, t, at, r, d) in enumerate(rows, 1)],
            columns=list(EVENT_COLUMNS),
        )
        events["at"] = pd.to_datetime(events["at"], utc=True)
        labels = pd.DataFrame.from_records(self.labels, columns=list(LABEL_COLUMNS)).astype(str)
        return SlaInputs(jobs=jobs, attempts=attempts, events=events, labels=labels, prices=prices)
