"""The benchmark scenario: a week of the Philly-derived trace on real GPU catalogs.

- **Jobs**: the 2,000 jobs of Gavel's Philly-derived trace (``adapters.traces.
  workloads``), their 52 days of arrivals compressed linearly into 7 days (7.45x the
  recorded arrival rate; runtimes as derived, 15 min - 12 h, mean 1.5 h: about 2,900
  node-hours; started on arrival, 63 GPUs would be busy on average, 230 at the peak).
  GPU model per job from the Philly mix (V100
  45%, A100 35%, T4 10%, L4 10%) among the models sold with enough GPUs on one node;
  4 vCPUs and 12 GiB per GPU, capped to the node. Estimates: the true runtime x
  lognormal error (sigma 0.3); deadline = arrival + 3 x the true runtime; 70% may use
  spot; checkpoints every 30 min.
- **Offerings** (56): AWS us-east-1 and us-west-2 (libcloud's price list + the spot
  advisor), GCP us-central1 and us-west1 (anycloud's catalog), the GPU machine types of
  the solver benchmark (T4: g4dn; V100: p3; A100: p4d, a2-highgpu; L4: g6, g2), on-demand
  and spot.
- **Quotas**, per region, as an established account has them: 64 GPUs of each model
  and 1,536 vCPUs on-demand, half of that for spot (a pool of its own on both clouds).
- **Spot**: two AWS V100 offerings replay real availability traces ("Can't Be Late",
  ``skypilot-spot-traces``, single-node, from their start): p3.2xlarge in us-east-1
  from ``us-east-1a_v100_1`` (2023-02-15, available 17% of the time) and p3.16xlarge
  in us-west-2 from ``us-west-2a_v100_8`` (2022-10-26, 48%); both repeat when they run
  out. Every other spot offering is taken back at its catalog hazard (the AWS advisor's
  interruption band, GCP's 5%/month). Notice: 2 minutes, as on EC2.
- **Loop**: :data:`scheduler.sim.SIM_CONTROL` (10-minute planning slots, 6 h ahead) on
  a 1-minute tick grid, the optimizer with 0.2 s per plan; workers heartbeat every
  30 min of virtual time.
"""

from __future__ import annotations

from pathlib import Path

from adapters.base import Offering
from adapters.sim import AvailabilitySeries, SpotSupply
from adapters.traces.spot import load_spot_trace
from benchmarks.solver.instances import INSTANCE_TYPES, load_offerings
from scheduler.sim import (
    DEFAULT_START,
    DeadlineRule,
    EstimateError,
    SimConfig,
    SimWorkload,
    WorkloadRule,
    philly_workload,
    quotas_for,
)

REGIONS: tuple[str, ...] = ("aws:us-east-1", "aws:us-west-2", "gcp:us-central1", "gcp:us-west1")
GPU_FAMILIES = ("g4dn", "p3", "p4d", "g6", "a2-", "g2-")
GPU_TYPES: frozenset[str] = frozenset(
    t for t in INSTANCE_TYPES if any(t.startswith(f) for f in GPU_FAMILIES)
)
VCPUS_PER_REGION = 1536
GPUS_PER_MODEL_PER_REGION = 64
SPOT_SHARE_OF_QUOTA = 0.5

_TRACES = "spot_traces/skypilot-spot-traces/availability/1-node"
#: Spot offering -> the trace it replays (same instance type, region and GPU count).
SPOT_TRACES: dict[str, str] = {
    "aws/us-east-1/us-east-1/p3.2xlarge/spot": f"{_TRACES}/aws-02-15-2023/us-east-1a_v100_1.json",
    "aws/us-west-2/us-west-2/p3.16xlarge/spot": f"{_TRACES}/aws-10-26-2022/us-west-2a_v100_8.json",
}


def gpu_offerings(data_dir: Path) -> tuple[Offering, ...]:
    return load_offerings(data_dir, regions=REGIONS, instance_types=GPU_TYPES).offerings


def philly_week(
    data_dir: Path,
    *,
    jobs: int = 2000,
    seed: int = 0,
    policy: str = "optimizer",
    tick_s: float = 60.0,
    traces: bool = True,
) -> tuple[SimConfig, SimWorkload]:
    """The scenario (see the module docstring) from the shared data in ``data_dir``."""
    offerings = gpu_offerings(data_dir)
    rule = WorkloadRule(
        deadline=DeadlineRule(slack=3.0),
        error=EstimateError(sigma=0.3),
        spot_share=0.7,
        max_jobs=jobs,
    )
    workload = philly_workload(data_dir, rule, seed=seed, offerings=offerings)
    spot: dict[str, SpotSupply] = {}
    if traces:
        ids = {o.id for o in offerings}
        for offering_id, rel in SPOT_TRACES.items():
            if offering_id in ids:
                trace = load_spot_trace(data_dir / rel)
                series = AvailabilitySeries.from_trace(trace, DEFAULT_START, repeat=True)
                spot[offering_id] = SpotSupply(availability=series)
    config = SimConfig(
        offerings=offerings,
        quotas=quotas_for(
            offerings,
            vcpus=VCPUS_PER_REGION,
            gpus=GPUS_PER_MODEL_PER_REGION,
            spot_factor=SPOT_SHARE_OF_QUOTA,
        ),
        spot=spot,
        notice_s=120.0,
        policy=policy,
        tick_s=tick_s,
        seed=seed,
    )
    return config, workload


def describe(config: SimConfig, workload: SimWorkload) -> dict[str, object]:
    regions = sorted({f"{o.cloud}:{o.region}" for o in config.offerings})
    return {
        "jobs": len(workload),
        "workload": workload.description,
        "offerings": len(config.offerings),
        "spot_offerings": sum(o.market.value == "spot" for o in config.offerings),
        "regions": regions,
        "quota_pools": len(config.quotas),
        "spot_traces": sorted(config.spot),
        "policy": config.policy,
        "tick_s": config.tick_s,
        "wait_tick_s": config.wait_tick_s,
        "solver_time_limit_s": config.solver_time_limit_s,
        "heartbeat_interval_s": config.heartbeat_interval_s,
        "plan_slot_s": config.control.plan_slot_s,
        "plan_horizon_slots": config.control.plan_horizon_slots,
        "node_hours_of_work": round(sum(j.runtime_s for j in workload.jobs) / 3600, 1),
    }
