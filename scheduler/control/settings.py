"""Knobs of the control loop (timeouts, planning assumptions)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ControlSettings:
    tick_interval_s: float = 1.0
    #: Pessimistic runtime = estimate x this (until the cost model learns better).
    runtime_pessimism: float = 1.2
    restart_overhead_s: int = 60
    #: A launched node whose worker never heartbeats within this is given up.
    launch_timeout_s: float = 120.0
    #: A running worker silent for this long is presumed dead.
    heartbeat_timeout_s: float = 30.0
    #: An offering that answered "no capacity" is avoided for this long.
    capacity_cooldown_s: float = 300.0
    solver_time_limit_s: float = 2.0
    #: A throttled launch is retried after 1, 2, 4, ... s (x jitter), at most 60 s
    #: apart, and given up after this many tries (the job goes back to planning).
    throttle_base_s: float = 1.0
    throttle_cap_s: float = 60.0
    throttle_max_tries: int = 8
    #: The planner's time grid: slots of this many seconds, this many of them ahead.
    plan_slot_s: int = 60
    plan_horizon_slots: int = 60
