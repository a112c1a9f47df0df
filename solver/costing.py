"""How much a job costs on an offering, and whether it may use it at all.

Shared by every policy so they agree on what "cheapest" and "feasible" mean.
"""

from __future__ import annotations

from solver.model import Job, Market, Offering

SECONDS_PER_HOUR = 3600


def fits(job: Job, off: Offering) -> bool:
    """Resources and location allowed (ignores time, market and quota)."""
    if off.vcpus < job.vcpus or off.memory_gib < job.memory_gib:
        return False
    if job.gpu_count and (off.gpu_count < job.gpu_count or off.gpu_type != job.gpu_type):
        return False
    if job.allowed_clouds and off.cloud not in job.allowed_clouds:
        return False
    return not (job.allowed_regions and off.region not in job.allowed_regions)


def finishes_in_time(job: Job, off: Offering, start: int) -> bool:
    """Started at ``start`` on ``off``, the job ends by its deadline at its pessimistic
    runtime; on spot, it must also leave room for one preemption (the work since the
    last checkpoint, a restart) and an on-demand fallback launch — the slack rule of
    "Uniform Progress" (NSDI'24, "Can't Be Late"): spot only while slack covers it.
    """
    end = start + off.launch_delay_s + job.runtime_p_s
    if off.market is Market.SPOT:
        if not job.spot_allowed:
            return False
        end += job.checkpoint_interval_s + job.restart_overhead_s + off.launch_delay_s
    return end <= job.deadline


def expected_cost_micros(job: Job, off: Offering) -> int:
    """Compute + launch overhead + expected rework on spot, in micro-dollars.

    Expected rework = hazard x runtime x (checkpoint interval / 2 + restart overhead):
    each preemption loses half a checkpoint interval on average and pays a restart.
    """
    hours = (job.runtime_s + off.launch_delay_s) / SECONDS_PER_HOUR
    if off.market is Market.SPOT and off.hazard_per_hour > 0:
        lost_h = (job.checkpoint_interval_s / 2 + job.restart_overhead_s) / SECONDS_PER_HOUR
        hours += off.hazard_per_hour * (job.runtime_s / SECONDS_PER_HOUR) * lost_h
    return round(off.price_micros_per_hour * hours)
