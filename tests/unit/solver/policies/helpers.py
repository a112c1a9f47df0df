"""Small hand-made problems for the policy tests: one GPU job, an on-demand and a spot
offering in one zone, ten-minute slots."""

from __future__ import annotations

from solver import Job, Market, Offering, Plan, Problem
from solver.model import SpotOutlook

HOUR = 3600
NOW = 1_700_002_800
SLOT = 600
#: Restart overhead: every offering's launch delay (as in the benchmark).
D = 720
OD = Offering(
    id="z/p3/on-demand",
    cloud="aws",
    region="us-west-2",
    zone="us-west-2a",
    instance_type="p3.2xlarge",
    market=Market.ON_DEMAND,
    vcpus=8,
    memory_gib=61,
    gpu_count=1,
    gpu_type="V100",
    price_micros_per_hour=3_060_000,
    hazard_per_hour=0.0,
    launch_delay_s=D,
    quota_draw=(("us-west-2/gpu", 1.0),),
)
SPOT = Offering(
    id="z/p3/spot",
    cloud="aws",
    region="us-west-2",
    zone="us-west-2a",
    instance_type="p3.2xlarge",
    market=Market.SPOT,
    vcpus=8,
    memory_gib=61,
    gpu_count=1,
    gpu_type="V100",
    price_micros_per_hour=973_100,
    hazard_per_hour=0.2,
    launch_delay_s=D,
    quota_draw=(("us-west-2/spot-gpu", 1.0),),
)


def job(
    *,
    total_h: float = 48,
    done_h: float = 0,
    due_h: float = 70,
    elapsed_h: float = 0,
    running_on: str = "",
    running_since: int = 0,
    outlook: SpotOutlook | None = None,
    jid: str = "j",
    spot_allowed: bool = True,
) -> Job:
    """A job that arrived ``elapsed_h`` ago, due ``due_h`` after it arrived."""
    arrival = NOW - round(elapsed_h * HOUR)
    left = round((total_h - done_h) * HOUR)
    return Job(
        id=jid,
        vcpus=4,
        memory_gib=32,
        runtime_s=left,
        runtime_p_s=left,
        deadline=arrival + round(due_h * HOUR),
        gpu_count=1,
        gpu_type="V100",
        spot_allowed=spot_allowed,
        arrival=arrival,
        total_runtime_s=round(total_h * HOUR),
        running_on=running_on,
        running_since=running_since,
        spot_outlook=outlook,
    )


def problem(*jobs: Job, spot: bool = True, horizon_slots: int = 12) -> Problem:
    return Problem(
        now=NOW,
        jobs=jobs,
        offerings=(OD, SPOT) if spot else (OD,),
        slot_s=SLOT,
        horizon_slots=horizon_slots,
    )


def action(plan: Plan, jid: str = "j") -> str:
    """What the job does now: the market it runs on, or "wait"."""
    d = plan.decisions[jid]
    if d.offering_id is None or d.start is None or d.start > NOW:
        return "wait"
    return "spot" if d.offering_id == SPOT.id else "on-demand"
