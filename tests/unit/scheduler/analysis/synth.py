"""Small frames shaped like the store's (``HistoryStore``, ``BillingStore``) for the
analysis tests: every number is chosen so a test can state the exact result."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from scheduler.analysis.load import LABEL_COLUMNS
from scheduler.store.billing import LINE_COLUMNS
from scheduler.store.history import ATTEMPT_COLUMNS, JOB_COLUMNS

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass
class Store:
    attempts: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    labels: list[tuple[str, str, str]] = field(default_factory=list)
    lines: list[dict[str, Any]] = field(default_factory=list)

    def job(
        self, job_id: str, *, tenant: str = "default", labels: dict[str, str] | None = None
    ) -> str:
        self.jobs[job_id] = {
            "job_id": job_id,
            "tenant": tenant,
            "name": job_id,
            "class_key": "c",
            "estimated_runtime_s": 60.0,
            "state": "SUCCEEDED",
            "created_at": T0,
            "deadline": T0 + timedelta(days=1),
            "finished_at": None,
            "cost_micros": 0,
            "preemptions": 0,
            "spot_allowed": True,
        }
        self.labels += [(job_id, k, v) for k, v in sorted((labels or {}).items())]
        return job_id

    def attempt(
        self,
        job_id: str,
        *,
        market: str = "on-demand",
        price: int = 1_000_000,
        cost: int = 0,
        at: datetime = T0,
        minutes: float = 60.0,
        cloud: str = "local",
        region: str = "us-central1",
        instance_type: str = "e2-standard-2",
        preempted: bool = False,
        ended: bool = True,
    ) -> str:
        if job_id not in self.jobs:
            self.job(job_id)
        attempt_id = f"a{len(self.attempts):03d}"
        self.attempts.append(
            {
                "attempt_id": attempt_id,
                "job_id": job_id,
                "cloud": cloud,
                "region": region,
                "zone": f"{region}-a",
                "instance_type": instance_type,
                "market": market,
                "list_price_micros_per_hour": price,
                "created_at": at,
                "started_at": at,
                "ended_at": at + timedelta(minutes=minutes) if ended else None,
                "preempted": preempted,
                "end_reason": "exit 0" if ended else "",
                "start_progress": 0.0,
                "end_progress": 1.0,
                "state": "SUCCEEDED" if ended else "RUNNING",
                "cost_micros": cost,
            }
        )
        self.jobs[job_id]["cost_micros"] += cost
        self.jobs[job_id]["preemptions"] += int(preempted)
        return attempt_id

    def line(
        self,
        attempt_id: str | None,
        billed: str,
        *,
        effective: str | None = None,
        listed: str | None = None,
        hours: float = 1.0,
        at: datetime = T0,
        provider: str = "local cloud",
        region: str | None = "us-central1",
    ) -> None:
        start = at.replace(minute=0, second=0, microsecond=0)
        self.lines.append(
            {
                "key": f"k{len(self.lines):03d}",
                "attempt_id": attempt_id,
                "provider": provider,
                "service": "compute",
                "charge_category": "Usage",
                "ChargePeriodStart": start,
                "ChargePeriodEnd": start + timedelta(hours=1),
                "region": region,
                "zone": None,
                "resource_id": None,
                "sku_id": None,
                "instance_type": None,
                "PricingUnit": "Hours",
                "PricingQuantity": hours,
                "BilledCost": Decimal(billed),
                "EffectiveCost": Decimal(effective or billed),
                "ListCost": Decimal(listed) if listed is not None else None,
                "tags_json": "{}",
            }
        )

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """(attempts, jobs, labels, lines) with the store's columns and dtypes."""
        attempts = pd.DataFrame(self.attempts, columns=list(ATTEMPT_COLUMNS))
        for name in ("created_at", "started_at", "ended_at"):
            attempts[name] = pd.to_datetime(attempts[name], utc=True)
        attempts = attempts.astype(
            {"preempted": bool, "list_price_micros_per_hour": "int64", "cost_micros": "int64"}
        )
        jobs = pd.DataFrame(list(self.jobs.values()), columns=list(JOB_COLUMNS))
        for name in ("created_at", "deadline", "finished_at"):
            jobs[name] = pd.to_datetime(jobs[name], utc=True)
        jobs = jobs.astype({"cost_micros": "int64", "preemptions": "int64"})
        labels = pd.DataFrame.from_records(self.labels, columns=list(LABEL_COLUMNS)).astype(str)
        lines = pd.DataFrame(self.lines, columns=list(LINE_COLUMNS))
        for name in ("ChargePeriodStart", "ChargePeriodEnd"):
            lines[name] = pd.to_datetime(lines[name], utc=True)
        lines["PricingQuantity"] = lines["PricingQuantity"].astype("float64")
        return attempts, jobs, labels, lines
