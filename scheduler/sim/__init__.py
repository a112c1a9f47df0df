"""The discrete-event simulator: the live control loop (planner, launcher, reconciler,
cost model) on a virtual clock, over simulated clouds, with simulated workers, replaying
a workload. See docs/simulation.md.

Entry point: :func:`simulate(config, workload, store_dir) <simulate>` -> :class:`SimResult`.
"""

from __future__ import annotations

from scheduler.sim.clock import EventQueue, VirtualClock
from scheduler.sim.config import DEFAULT_START, SIM_CONTROL, SimConfig, quota_pools, quotas_for
from scheduler.sim.engine import Simulation, simulate
from scheduler.sim.result import AttemptOutcome, JobOutcome, SimResult, SimSummary
from scheduler.sim.workload import (
    ALIBABA_GPU_MIX,
    PHILLY_GPU_MIX,
    WEEK_S,
    DeadlineRule,
    EstimateError,
    SimJob,
    SimWorkload,
    WorkloadRule,
    alibaba_workload,
    build_workload,
    philly_workload,
)

__all__ = [
    "ALIBABA_GPU_MIX",
    "DEFAULT_START",
    "PHILLY_GPU_MIX",
    "SIM_CONTROL",
    "WEEK_S",
    "AttemptOutcome",
    "DeadlineRule",
    "EstimateError",
    "EventQueue",
    "JobOutcome",
    "SimConfig",
    "SimJob",
    "SimResult",
    "SimSummary",
    "SimWorkload",
    "Simulation",
    "VirtualClock",
    "WorkloadRule",
    "alibaba_workload",
    "build_workload",
    "philly_workload",
    "quota_pools",
    "quotas_for",
    "simulate",
]
