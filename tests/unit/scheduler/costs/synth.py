"""Synthetic history with a known truth: attempts, jobs and hourly billing lines.

``History.run`` records one attempt of an offering: it is created at ``at``, starts
``delay_s`` later, runs ``hours`` and is billed one line per (part of an) hour at
``ratio`` x the list price. Every number is deterministic so tests can state exactly
what a fit should recover.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pandas as pd

from adapters.base import Market, Offering
from scheduler.costs.frames import ATTEMPT_COLUMNS, BILLING_COLUMNS, JOB_COLUMNS
from solver.money import to_micros

T0 = datetime(2025, 3, 1, tzinfo=UTC)


def offering(
    cloud: str,
    region: str,
    instance_type: str,
    market: str = "on-demand",
    *,
    price: str = "1.00",
    hazard: float = 0.0,
    delay_s: float = 60.0,
    zone: str = "",
) -> Offering:
    return Offering(
        cloud=cloud,
        region=region,
        zone=zone or f"{region}-a",
        instance_type=instance_type,
        market=Market(market),
        vcpus=4,
        memory_gib=16,
        gpu_count=0,
        gpu_type="",
        price_per_hour=Decimal(price),
        preemption_hazard_per_hour=hazard,
        launch_delay_s=delay_s,
    )


@dataclass
class History:
    attempts: list[dict[str, Any]] = field(default_factory=list)
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    billing: list[dict[str, Any]] = field(default_factory=list)

    def run(
        self,
        o: Offering,
        *,
        at: datetime = T0,
        hours: float = 1.0,
        ratio: float = 1.0,
        preempted: bool = False,
        delay_s: float = 60.0,
        job: str | None = None,
        class_key: str = "c",
        estimate_s: float | None = None,
        start_progress: float = 0.0,
        state: str = "SUCCEEDED",
        bill: bool = True,
        list_price_micros: int | None = None,
        unit: str = "Hours",
    ) -> str:
        n = len(self.attempts)
        aid = f"a{n:05d}"
        job_id = job or f"j{n:05d}"
        started = at + timedelta(seconds=delay_s)
        ended = started + timedelta(hours=hours)
        self.attempts.append(
            {
                "attempt_id": aid,
                "job_id": job_id,
                "cloud": o.cloud,
                "region": o.region,
                "zone": o.zone,
                "instance_type": o.instance_type,
                "market": o.market.value,
                "list_price_micros_per_hour": (
                    to_micros(o.price_per_hour) if list_price_micros is None else list_price_micros
                ),
                "created_at": at,
                "started_at": started,
                "ended_at": ended,
                "preempted": preempted,
                "end_reason": "preempted" if preempted else "exited",
                "start_progress": start_progress,
                "end_progress": 1.0 if not preempted else start_progress,
            }
        )
        self.jobs[job_id] = {
            "job_id": job_id,
            "tenant": "t",
            "class_key": class_key,
            "estimated_runtime_s": hours * 3600 if estimate_s is None else estimate_s,
            "state": state,
        }
        if bill:
            self._bill(aid, o.price_per_hour, started, hours, ratio, unit)
        return aid

    def _bill(
        self, aid: str, price: Decimal, start: datetime, hours: float, ratio: float, unit: str
    ) -> None:
        left, t = hours, start
        while left > 1e-9:
            q = min(1.0, left)
            listed = price * Decimal(repr(q))
            effective = (listed * Decimal(repr(ratio))).quantize(Decimal("1e-10"))
            self.billing.append(
                {
                    "attempt_id": aid,
                    "ChargePeriodStart": t,
                    "ChargePeriodEnd": t + timedelta(hours=q),
                    "PricingQuantity": q if unit == "Hours" else q * 4,
                    "PricingUnit": unit,
                    "EffectiveCost": effective,
                    "ListCost": listed,
                    "BilledCost": effective,
                }
            )
            left -= q
            t += timedelta(hours=q)

    def frames(self) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        return (
            pd.DataFrame(self.attempts, columns=list(ATTEMPT_COLUMNS)),
            pd.DataFrame(list(self.jobs.values()), columns=list(JOB_COLUMNS)),
            pd.DataFrame(self.billing, columns=list(BILLING_COLUMNS)),
        )
