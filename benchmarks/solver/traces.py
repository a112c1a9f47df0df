"""Job shapes from two public GPU-cluster traces: now read by
:mod:`adapters.traces.workloads` (the simulator replays them too); re-exported here
for the solver benchmark and its tests."""

from __future__ import annotations

from adapters.traces.workloads import (
    ALIBABA_PODS,
    MAX_GPUS_PER_NODE,
    MAX_RUNTIME_S,
    MIN_RUNTIME_S,
    PHILLY_GIB_PER_GPU,
    PHILLY_RUNTIMES,
    PHILLY_TRACE,
    PHILLY_VCPUS_PER_GPU,
    JobShape,
    Traces,
    read_alibaba,
    read_philly,
    read_traces,
)

__all__ = [
    "ALIBABA_PODS",
    "MAX_GPUS_PER_NODE",
    "MAX_RUNTIME_S",
    "MIN_RUNTIME_S",
    "PHILLY_GIB_PER_GPU",
    "PHILLY_RUNTIMES",
    "PHILLY_TRACE",
    "PHILLY_VCPUS_PER_GPU",
    "JobShape",
    "Traces",
    "read_alibaba",
    "read_philly",
    "read_traces",
]
