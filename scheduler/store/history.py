"""What happened, as frames: every attempt and every job, for the cost-model refit and
for analysis (the notebook reads the same frames)."""

from __future__ import annotations

from datetime import datetime

import pandas as pd
from sqlmodel import col, select

from scheduler.store.database import Database
from scheduler.store.records import spec_from_json
from scheduler.store.tables import AttemptRow, JobRow

ATTEMPT_COLUMNS = (
    "attempt_id",
    "job_id",
    "cloud",
    "region",
    "zone",
    "instance_type",
    "market",
    "list_price_micros_per_hour",
    "created_at",
    "started_at",
    "ended_at",
    "preempted",
    "end_reason",
    "start_progress",
    "end_progress",
    "state",
    "cost_micros",
)

JOB_COLUMNS = (
    "job_id",
    "tenant",
    "name",
    "class_key",
    "estimated_runtime_s",
    "state",
    "created_at",
    "deadline",
    "finished_at",
    "cost_micros",
    "preemptions",
    "spot_allowed",
)


class HistoryStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def attempts_frame(self, *, since: datetime | None = None) -> pd.DataFrame:
        stmt = select(AttemptRow).order_by(col(AttemptRow.created_at), col(AttemptRow.id))
        if since is not None:
            stmt = stmt.where(col(AttemptRow.created_at) >= since)
        with self.db.read() as s:
            rows = s.exec(stmt).all()
        frame = pd.DataFrame.from_records(
            [
                (
                    r.id,
                    r.job_id,
                    r.cloud,
                    r.region,
                    r.zone,
                    r.instance_type,
                    r.market,
                    r.price_micros_per_hour,
                    r.created_at,
                    r.started_at,
                    r.ended_at,
                    r.preempted,
                    r.end_reason,
                    r.start_progress,
                    r.progress,
                    r.state,
                    r.cost_micros,
                )
                for r in rows
            ],
            columns=list(ATTEMPT_COLUMNS),
        )
        for name in ("created_at", "started_at", "ended_at"):
            frame[name] = pd.to_datetime(frame[name], utc=True)
        return frame.astype(
            {"preempted": bool, "list_price_micros_per_hour": "int64", "cost_micros": "int64"}
        )

    def jobs_frame(self) -> pd.DataFrame:
        with self.db.read() as s:
            rows = s.exec(select(JobRow).order_by(col(JobRow.n))).all()
        records = []
        for r in rows:
            spec = spec_from_json(r.spec_json)
            records.append(
                (
                    r.id,
                    r.tenant,
                    r.name,
                    spec.class_key,
                    spec.estimated_runtime.total_seconds(),
                    r.state,
                    r.created_at,
                    r.deadline,
                    r.finished_at,
                    r.cost_micros,
                    r.preemptions,
                    spec.spot_allowed,
                )
            )
        frame = pd.DataFrame.from_records(records, columns=list(JOB_COLUMNS))
        for name in ("created_at", "deadline", "finished_at"):
            frame[name] = pd.to_datetime(frame[name], utc=True)
        return frame.astype({"cost_micros": "int64", "preemptions": "int64"})
