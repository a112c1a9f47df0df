"""What a simulation replays: jobs with arrivals, sizes, true runtimes and the estimates
the scheduler is told, and the rules that turn a trace into such jobs.

A :class:`SimJob` carries both sides of the truth: ``runtime_s`` is how long the job
really runs (the simulated worker finishes then), ``estimate_s`` is what it is
submitted with (what the planner sees). :class:`WorkloadRule` builds jobs from trace
shapes (:mod:`adapters.traces.workloads`):

- arrivals: the trace's, optionally compressed linearly into ``span_s`` (the Philly
  trace's 52 days into a week: 7.45x the arrival rate, runtimes unchanged);
- estimates: ``runtime x bias x exp(N(0, sigma))`` (:class:`EstimateError`), drawn
  per job from the scenario seed;
- deadlines: ``arrival + slack x runtime`` (or x the estimate), or ``arrival +
  absolute_s`` (:class:`DeadlineRule`);
- GPU model: drawn per job from ``gpu_mix`` among the models some offering sells with
  at least the job's GPUs on one node; requests above the largest such node are capped
  to it (the traces come from clusters with other node shapes);
- spot allowed for a ``spot_share`` of jobs, a tenant per job from ``tenants``.

Everything is drawn from ``numpy.random.default_rng([seed, ...])``: the same shapes,
rule and seed give the same jobs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType

import numpy as np

from adapters.base import Offering
from adapters.traces.workloads import (
    ALIBABA_PODS,
    PHILLY_RUNTIMES,
    PHILLY_TRACE,
    JobShape,
    read_alibaba,
    read_philly,
)
from scheduler.domain import CLASS_LABEL, DEFAULT_TENANT, JobSpec, Resources

WEEK_S = 7 * 24 * 3600.0

#: GPU models of the Philly jobs (training: V100/A100 heavy) and the Alibaba pods
#: (inference and GPU sharing: T4/L4 heavy); the solver benchmark uses the same mix.
PHILLY_GPU_MIX: Mapping[str, float] = MappingProxyType(
    {"V100": 0.45, "A100": 0.35, "T4": 0.1, "L4": 0.1}
)
ALIBABA_GPU_MIX: Mapping[str, float] = MappingProxyType(
    {"T4": 0.4, "L4": 0.3, "V100": 0.2, "A100": 0.1}
)


@dataclass(frozen=True)
class SimJob:
    """One job of a simulation. Times are seconds after the simulation start."""

    key: str
    arrival_s: float
    #: How long it really runs, from start to end without interruption.
    runtime_s: float
    #: What it is submitted with (``JobSpec.estimated_runtime``).
    estimate_s: float
    deadline_s: float
    resources: Resources = field(default_factory=Resources)
    spot_allowed: bool = True
    tenant: str = DEFAULT_TENANT
    labels: Mapping[str, str] = field(default_factory=dict)
    checkpoint_interval_s: float = 1800.0
    allowed_clouds: tuple[str, ...] = ()
    allowed_regions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.key:
            raise ValueError("a simulated job needs a key")
        if self.arrival_s < 0:
            raise ValueError(f"{self.key}: arrival_s must be >= 0")
        if not self.runtime_s > 0 or not self.estimate_s > 0:
            raise ValueError(f"{self.key}: runtime_s and estimate_s must be > 0")
        if self.checkpoint_interval_s < 0:
            raise ValueError(f"{self.key}: checkpoint_interval_s must be >= 0")

    def spec(self, start: datetime) -> JobSpec:
        """The job as submitted; its key is its name. (No request id: each job is
        submitted once, and an id would cost the store a lookup per submission.)"""
        return JobSpec(
            name=self.key,
            command=("sim", self.labels.get(CLASS_LABEL, self.key)),
            estimated_runtime=timedelta(seconds=self.estimate_s),
            deadline=start + timedelta(seconds=self.deadline_s),
            resources=self.resources,
            labels=dict(self.labels),
            spot_allowed=self.spot_allowed,
            allowed_clouds=self.allowed_clouds,
            allowed_regions=self.allowed_regions,
            checkpoint_interval=timedelta(seconds=self.checkpoint_interval_s),
        )


@dataclass(frozen=True)
class SimWorkload:
    """Jobs in arrival order (ties: as given); keys are unique."""

    jobs: tuple[SimJob, ...]
    #: What it was built from, for reports.
    description: str = ""

    def __post_init__(self) -> None:
        keys = [j.key for j in self.jobs]
        if len(set(keys)) != len(keys):
            raise ValueError("job keys of a workload must be unique")
        ordered = tuple(sorted(self.jobs, key=lambda j: j.arrival_s))
        object.__setattr__(self, "jobs", ordered)

    def __len__(self) -> int:
        return len(self.jobs)


@dataclass(frozen=True)
class DeadlineRule:
    """``deadline = arrival + slack x runtime`` (``basis`` "runtime": the true runtime;
    "estimate": the submitted one), or ``arrival + absolute_s`` when that is set; never
    sooner than ``min_s`` after arrival."""

    slack: float = 2.0
    basis: str = "runtime"
    absolute_s: float | None = None
    min_s: float = 0.0

    def __post_init__(self) -> None:
        if self.basis not in ("runtime", "estimate"):
            raise ValueError(f"deadline basis is 'runtime' or 'estimate', not {self.basis!r}")
        if self.absolute_s is None and not self.slack > 0:
            raise ValueError(f"deadline slack must be > 0, got {self.slack}")
        if self.absolute_s is not None and not self.absolute_s > 0:
            raise ValueError(f"absolute deadline must be > 0 s, got {self.absolute_s}")

    def deadline_s(self, arrival_s: float, runtime_s: float, estimate_s: float) -> float:
        if self.absolute_s is not None:
            after = self.absolute_s
        else:
            after = self.slack * (runtime_s if self.basis == "runtime" else estimate_s)
        return arrival_s + max(after, self.min_s)


@dataclass(frozen=True)
class EstimateError:
    """``estimate = runtime x bias x exp(N(0, sigma))``, clipped to ``[lo, hi] x
    runtime``; the default is an exact estimate."""

    sigma: float = 0.0
    bias: float = 1.0
    lo: float = 0.1
    hi: float = 10.0

    def __post_init__(self) -> None:
        if self.sigma < 0 or not self.bias > 0 or not 0 < self.lo <= self.hi:
            raise ValueError(f"bad estimate error model: {self}")

    def draw(self, runtime_s: float, rng: np.random.Generator) -> float:
        noise = math.exp(float(rng.normal(0.0, self.sigma))) if self.sigma else 1.0
        return runtime_s * min(self.hi, max(self.lo, self.bias * noise))


@dataclass(frozen=True)
class WorkloadRule:
    """How trace shapes become :class:`SimJob`\\ s (see the module docstring)."""

    #: Compress (or stretch) the arrivals linearly so the last is this many seconds
    #: after the first (None: as recorded).
    span_s: float | None = WEEK_S
    #: Seconds after the simulation start of the first arrival.
    offset_s: float = 0.0
    deadline: DeadlineRule = DeadlineRule()
    error: EstimateError = EstimateError()
    spot_share: float = 1.0
    #: GPU model -> weight.
    gpu_mix: Mapping[str, float] = field(default_factory=lambda: PHILLY_GPU_MIX)
    #: Tenant name -> weight.
    tenants: Mapping[str, float] = field(
        default_factory=lambda: MappingProxyType({DEFAULT_TENANT: 1.0})
    )
    checkpoint_interval_s: float = 1800.0
    #: Keep only the first this many jobs (None: all).
    max_jobs: int | None = None

    def __post_init__(self) -> None:
        if self.span_s is not None and not self.span_s > 0:
            raise ValueError(f"span_s must be > 0, got {self.span_s}")
        if not 0.0 <= self.spot_share <= 1.0:
            raise ValueError(f"spot_share must be in [0, 1], got {self.spot_share}")
        if not self.tenants or any(w < 0 for w in self.tenants.values()):
            raise ValueError("tenants need at least one non-negative weight")


def build_workload(
    shapes: Sequence[JobShape],
    rule: WorkloadRule,
    *,
    seed: int,
    offerings: Sequence[Offering] = (),
    description: str = "",
) -> SimWorkload:
    """Jobs from trace shapes (in their order, which for both traces is arrival order)."""
    shapes = list(shapes[: rule.max_jobs] if rule.max_jobs is not None else shapes)
    rng = np.random.default_rng([seed, 7])
    if shapes:
        first = min(s.arrival_s for s in shapes)
        last = max(s.arrival_s for s in shapes)
    else:
        first = last = 0.0
    scale = 1.0
    if rule.span_s is not None and last > first:
        scale = rule.span_s / (last - first)
    most = _most_gpus(offerings)
    largest: dict[tuple[str, int], tuple[float, float] | None] = {}
    tenants = sorted(rule.tenants)
    weights = np.array([rule.tenants[t] for t in tenants], dtype=np.float64)
    weights = (
        weights / weights.sum() if weights.sum() > 0 else np.full(len(tenants), 1 / len(tenants))
    )
    jobs = []
    for shape in shapes:
        arrival = rule.offset_s + (shape.arrival_s - first) * scale
        runtime = float(shape.runtime_s)
        estimate = rule.error.draw(runtime, rng)
        gpu_type = ""
        if shape.gpu_count:
            gpu_type = _draw_gpu(rule.gpu_mix, most, shape.gpu_count, rng)
        vcpus, memory = shape.vcpus, shape.memory_gib
        key = (gpu_type, shape.gpu_count)
        if key not in largest:
            largest[key] = _largest_node(offerings, gpu_type, shape.gpu_count)
        cap = largest[key]
        if cap is not None:
            vcpus, memory = min(vcpus, cap[0]), min(memory, cap[1])
        spot = bool(rng.random() < rule.spot_share)
        tenant = str(tenants[int(rng.choice(len(tenants), p=weights))])
        labels = {"source": shape.source}
        if shape.job_type:
            labels[CLASS_LABEL] = shape.job_type
        jobs.append(
            SimJob(
                key=shape.trace_id,
                arrival_s=arrival,
                runtime_s=runtime,
                estimate_s=estimate,
                deadline_s=rule.deadline.deadline_s(arrival, runtime, estimate),
                resources=Resources(vcpus, memory, shape.gpu_count, gpu_type),
                spot_allowed=spot,
                tenant=tenant,
                labels=labels,
                checkpoint_interval_s=rule.checkpoint_interval_s,
            )
        )
    return SimWorkload(tuple(jobs), description)


def philly_workload(
    data_dir: Path,
    rule: WorkloadRule = WorkloadRule(),
    *,
    seed: int = 0,
    offerings: Sequence[Offering] = (),
) -> SimWorkload:
    """The Philly-derived trace (2,000 jobs; by default its 52 days of arrivals
    compressed into a week) from a directory laid out like the shared data."""
    shapes = read_philly(data_dir / PHILLY_TRACE, data_dir / PHILLY_RUNTIMES)
    span = "as recorded" if rule.span_s is None else f"compressed into {rule.span_s / 86400:g} d"
    return build_workload(
        shapes, rule, seed=seed, offerings=offerings, description=f"philly, arrivals {span}"
    )


def alibaba_workload(
    data_dir: Path,
    rule: WorkloadRule = WorkloadRule(gpu_mix=ALIBABA_GPU_MIX),
    *,
    seed: int = 0,
    offerings: Sequence[Offering] = (),
) -> SimWorkload:
    """The Alibaba GPU pods (7,255 scheduled pods) from the shared data's layout."""
    shapes = sorted(read_alibaba(data_dir / ALIBABA_PODS), key=lambda s: s.arrival_s)
    span = "as recorded" if rule.span_s is None else f"compressed into {rule.span_s / 86400:g} d"
    return build_workload(
        shapes, rule, seed=seed, offerings=offerings, description=f"alibaba, arrivals {span}"
    )


def _most_gpus(offerings: Sequence[Offering]) -> dict[str, int]:
    """GPU model -> most GPUs of it on one node."""
    most: dict[str, int] = {}
    for o in offerings:
        if o.gpu_count:
            most[o.gpu_type] = max(most.get(o.gpu_type, 0), o.gpu_count)
    return most


def _largest_node(
    offerings: Sequence[Offering], gpu_type: str, gpus: int
) -> tuple[float, float] | None:
    """(vCPUs, GiB) of the largest node with ``gpus`` of ``gpu_type`` (CPU-only nodes for
    0 GPUs), or None when nothing has them."""
    fits = [
        o
        for o in offerings
        if (gpus and o.gpu_type == gpu_type and o.gpu_count >= gpus)
        or (not gpus and not o.gpu_count)
    ]
    if not fits:
        return None
    return max(o.vcpus for o in fits), max(o.memory_gib for o in fits)


def _draw_gpu(
    mix: Mapping[str, float], most: Mapping[str, int], gpus: int, rng: np.random.Generator
) -> str:
    """A model of ``mix`` sold with at least ``gpus`` on one node (any model sold so when
    the mix has none; the mix as is when no offerings were given)."""
    names = [g for g in mix if most.get(g, 0) >= gpus] if most else list(mix)
    if not names:
        names = sorted(g for g, n in most.items() if n >= gpus)
    if not names:
        return next(iter(mix), "")
    weights = np.array([mix.get(g, 1.0) for g in names], dtype=np.float64)
    total = weights.sum()
    p = weights / total if total > 0 else np.full(len(names), 1 / len(names))
    return str(names[int(rng.choice(len(names), p=p))])
