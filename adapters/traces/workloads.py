"""Job arrivals, shapes and runtimes from two public GPU-cluster traces.

Read from a directory laid out like the project's shared data directory
(``workload_traces/...``); nothing is copied into the repository.

- Gavel's Philly-derived trace (``workload_traces/gavel_philly_derived/``, MIT): one row
  per job, tab-separated: job type, command, steps argument, needs-data-dir flag, total
  steps, arrival (s), GPUs. 2,000 jobs arriving over 52 days. It has no runtimes and no
  CPU or memory requests. Runtime: the job's rank of total steps among jobs of its type,
  mapped to the same quantile of the real Philly runtime distribution
  (``alibaba_gpu_v2020_philly_runtime/``, CC-BY-4.0; zero runtimes dropped). Requests:
  4 vCPUs and 12 GiB per GPU; jobs of more than 8 GPUs (multi-node in Philly) become
  8-GPU single-node jobs. Arrival: the trace's own, in seconds from its first job.
- Alibaba's GPU pods (``workload_traces/alibaba_gpu_v2023/openb_pod_list_default.csv``,
  CC-BY-4.0): CPU (milli), memory (MiB) and GPU requests as stated; runtime = deletion -
  creation time; arrival = creation time. Pods never scheduled are dropped. GPU-sharing
  pods (``gpu_milli`` < 1000) take a whole GPU: clouds do not sell fractions.

Runtimes are clipped to [15 min, 12 h]. Neither trace names a cloud GPU model (the
Alibaba pods have no ``gpu_spec``; Philly's GPUs are unnamed): whoever builds jobs from
these shapes picks one (the solver benchmark and the simulator draw it from a mix).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

PHILLY_TRACE = Path("workload_traces/gavel_philly_derived/msr_seed0_ee9e8c.trace")
PHILLY_RUNTIMES = Path("workload_traces/alibaba_gpu_v2020_philly_runtime/philly_runtime.csv")
ALIBABA_PODS = Path("workload_traces/alibaba_gpu_v2023/openb_pod_list_default.csv")

MIN_RUNTIME_S = 15 * 60
MAX_RUNTIME_S = 12 * 3600
MAX_GPUS_PER_NODE = 8
PHILLY_VCPUS_PER_GPU = 4.0
PHILLY_GIB_PER_GPU = 12.0


@dataclass(frozen=True)
class JobShape:
    """One trace job: what a task of it asks for, how long it runs, when it arrived."""

    source: str  # "philly" or "alibaba"
    trace_id: str
    vcpus: float
    memory_gib: float
    gpu_count: int
    runtime_s: int
    #: Seconds after the trace's first arrival (Philly: its arrival column; Alibaba:
    #: the pod's creation time).
    arrival_s: float = 0.0
    #: Philly: the job type (model and batch size); Alibaba: the pod's QoS class.
    job_type: str = ""


@dataclass(frozen=True)
class Traces:
    philly: tuple[JobShape, ...]
    alibaba: tuple[JobShape, ...]


def _clip_runtime(seconds: float) -> int:
    return int(min(MAX_RUNTIME_S, max(MIN_RUNTIME_S, round(seconds))))


def read_philly(trace: Path, runtimes: Path) -> tuple[JobShape, ...]:
    """The Philly-derived jobs in trace order (which is arrival order)."""
    with runtimes.open(newline="", encoding="utf-8") as f:
        values = np.array([float(r["runtime"]) for r in csv.DictReader(f)], dtype=np.float64)
    values = np.sort(values[values > 0])
    rows: list[tuple[str, float, int, float]] = []  # (job type, total steps, GPUs, arrival)
    with trace.open(encoding="utf-8") as f:
        for line in f:
            cols = line.rstrip("\n").split("\t")
            if len(cols) < 7:
                continue
            rows.append((cols[0], float(cols[4]), int(cols[6]), float(cols[5])))
    by_type: dict[str, list[int]] = {}
    for k, row in enumerate(rows):
        by_type.setdefault(row[0], []).append(k)
    quantile = np.zeros(len(rows))
    for members in by_type.values():
        steps = np.array([rows[k][1] for k in members])
        ranks = np.argsort(np.argsort(steps, kind="stable"), kind="stable")
        quantile[members] = (ranks + 0.5) / len(members)
    first = min((r[3] for r in rows), default=0.0)
    out = []
    for k, (job_type, _, gpus, arrival) in enumerate(rows):
        g = max(1, min(MAX_GPUS_PER_NODE, gpus))
        runtime = float(np.quantile(values, quantile[k])) if values.size else MIN_RUNTIME_S
        out.append(
            JobShape(
                source="philly",
                trace_id=f"philly-{k:04d}",
                vcpus=PHILLY_VCPUS_PER_GPU * g,
                memory_gib=PHILLY_GIB_PER_GPU * g,
                gpu_count=g,
                runtime_s=_clip_runtime(runtime),
                arrival_s=arrival - first,
                job_type=job_type,
            )
        )
    return tuple(out)


def read_alibaba(pods: Path) -> tuple[JobShape, ...]:
    """The scheduled Alibaba pods in file order (arrival = creation time)."""
    rows: list[tuple[dict[str, str], float]] = []
    with pods.open(newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            if not (row.get("scheduled_time") or "").strip():
                continue
            rows.append((row, float(row["creation_time"])))
    first = min((created for _, created in rows), default=0.0)
    out = []
    for row, created in rows:
        deleted = float(row["deletion_time"])
        out.append(
            JobShape(
                source="alibaba",
                trace_id=row["name"],
                vcpus=max(0.5, float(row["cpu_milli"]) / 1000),
                memory_gib=round(float(row["memory_mib"]) / 1024, 3),
                gpu_count=min(MAX_GPUS_PER_NODE, int(row["num_gpu"])),
                runtime_s=_clip_runtime(deleted - created),
                arrival_s=created - first,
                job_type=row.get("qos", "") or "",
            )
        )
    return tuple(out)


def read_traces(data_dir: Path) -> Traces:
    """Both traces from a directory laid out like the shared data directory."""
    return Traces(
        philly=read_philly(data_dir / PHILLY_TRACE, data_dir / PHILLY_RUNTIMES),
        alibaba=read_alibaba(data_dir / ALIBABA_PODS),
    )
