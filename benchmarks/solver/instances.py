"""Benchmark instances: real catalog prices, real trace job shapes, contended quotas.

One instance is one scheduling tick with ``jobs`` pending jobs:

- **Offerings**: a slice of the real catalogs (:func:`load_offerings`): 3 regions of
  each of AWS, GCP and Azure, one general-purpose CPU family (2-32 vCPUs) and the GPU
  machine types of T4, V100, A100 and L4 each cloud sells (1-GPU and 4/8-GPU shapes),
  on-demand and spot. GCP lists prices per zone: one zone per region is kept (the
  one with the most of the wanted types), as zones of a region share one quota.
- **Jobs**: trace jobs (:mod:`benchmarks.solver.traces`), half Philly, half Alibaba,
  drawn with replacement; each becomes an array of 5-25 identical tasks, so arrays
  form classes. In a *distinct* instance each task's runtime is jittered by up to
  +-10% (and made unique within its array), so no two jobs are alike. GPU models are
  drawn per array from :data:`GPU_MIX`, among the models the slice sells with that
  many GPUs on one node. Requests above the largest node that sells the job's GPU
  (or the largest CPU node) are capped to it: the traces come from clusters with
  other node shapes.
- **Times**: one tick, 24 slots of 1 h. ``runtime_p = 1.2 x runtime``; 80% of arrays
  may start now, the rest at a slot boundary 1-12 h ahead; deadline = earliest
  start + ``runtime_p`` x slack, slack uniform in [1.2, 4]. Spot allowed for 70%;
  checkpoints every 30 min, 2 min restart. 30% of arrays read 10-500 GB from one of
  the slice's regions; 10% may use one cloud only (one that sells their GPU).
- **Tenants**: 6; 3 have a budget on what their jobs starting in the next 3, 6 or
  12 h may cost (a burn rate, :func:`tenant_budgets`): enough for the jobs that must
  start in that window even on on-demand, with a margin, plus 30% of what the
  per-job-cheapest placement would spend there on jobs that could wait. A plan that
  defers work keeps it; one that starts everything at once may overrun it (the
  per-job-cheapest placement overruns 0-2 of the 3 on the benchmark's instances).
- **Quotas** (:func:`contended_pools`): one pool per region and resource, as the
  offerings' ``quota_draw`` names them. On-demand and spot are separate resources
  (``adapters.base.Offering.separate_spot_quota``, set for AWS, GCP and Azure): per
  region ``vcpu`` and ``gpu:<model>`` for on-demand nodes, ``spot-vcpu`` and
  ``spot-gpu:<model>`` for spot ones. Spot quota is the scarce one, as in real
  accounts, where spot quotas start small: the pools of a *spot* resource together
  hold ``spot_contention`` (default 0.5) x the peak demand the per-job-cheapest
  placement (each job alone on its cheapest timely column, quotas ignored) puts on that
  resource. The pools of an *on-demand* resource hold ``contention`` (default 1.25) x
  the peak demand on it if every job ran on its cheapest timely on-demand column (a
  job with none keeps its cheapest placement), so that on-demand can absorb the jobs
  spot cannot take. (A pool both markets draw from, for a cloud without separate spot
  quotas, is sized like an on-demand one.) Each resource's total is split over its
  pools by random weights in [0.6, 1.4], never less than one node of the largest
  offering drawing from the pool. The cheapest placement piles onto a few pools, so
  those are oversubscribed, while the total is enough for nearly every job;
  capacities scale with the job count.

Everything is drawn from ``numpy.random.default_rng(seed)``: same arguments, same
problem.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

import numpy as np

import solver
from adapters.base import Offering as CatalogOffering
from adapters.catalog import Catalog, CatalogSources, EgressTable, load_catalog
from benchmarks.solver.reference import SPOT_PREFIX, Reference, is_spot, kind_of, resource_of
from benchmarks.solver.traces import JobShape, Traces
from scheduler.control.planner import solver_offering

#: cloud:region of the slice: three US/EU regions per cloud with the GPU types below.
REGIONS: tuple[str, ...] = (
    "aws:us-east-1",
    "aws:us-east-2",
    "aws:us-west-2",
    "gcp:us-central1",
    "gcp:us-west1",
    "gcp:europe-west4",
    "azure:eastus",
    "azure:westus2",
    "azure:westeurope",
)

#: General-purpose CPU families (2, 4, 8, 16, 32 vCPUs, 4 GiB per vCPU) and the GPU
#: machine types of T4, V100, A100 and L4 in 1-GPU and 4/8-GPU shapes (and a 16-vCPU
#: 1-GPU shape where there is one, for pods asking for many CPUs per GPU).
INSTANCE_TYPES: frozenset[str] = frozenset(
    {
        # AWS
        "m5.large",
        "m5.xlarge",
        "m5.2xlarge",
        "m5.4xlarge",
        "m5.8xlarge",
        "g4dn.xlarge",
        "g4dn.4xlarge",
        "g4dn.12xlarge",
        "p3.2xlarge",
        "p3.8xlarge",
        "p3.16xlarge",
        "p4d.24xlarge",
        "g6.xlarge",
        "g6.4xlarge",
        "g6.12xlarge",
        # GCP (N1 + attached T4/V100 are not priced by the catalog loader)
        "n2-standard-2",
        "n2-standard-4",
        "n2-standard-8",
        "n2-standard-16",
        "n2-standard-32",
        "a2-highgpu-1g",
        "a2-highgpu-4g",
        "a2-highgpu-8g",
        "g2-standard-4",
        "g2-standard-16",
        "g2-standard-48",
        # Azure
        "Standard_D2s_v5",
        "Standard_D4s_v5",
        "Standard_D8s_v5",
        "Standard_D16s_v5",
        "Standard_D32s_v5",
        "Standard_NC4as_T4_v3",
        "Standard_NC16as_T4_v3",
        "Standard_NC64as_T4_v3",
        "Standard_NC6s_v3",
        "Standard_NC24s_v3",
        "Standard_ND96asr_v4",
    }
)

#: GPU model per array, by trace: Philly jobs are training jobs (V100/A100 heavy),
#: Alibaba's pods are mostly inference and GPU-sharing (T4/L4 heavy).
GPU_MIX: Mapping[str, Mapping[str, float]] = MappingProxyType(
    {
        "philly": MappingProxyType({"V100": 0.45, "A100": 0.35, "T4": 0.1, "L4": 0.1}),
        "alibaba": MappingProxyType({"T4": 0.4, "L4": 0.3, "V100": 0.2, "A100": 0.1}),
    }
)

NOW = 1_780_000_000 - 1_780_000_000 % 3600  # an hour boundary in 2026
TENANTS: tuple[str, ...] = ("vision", "nlp", "recsys", "speech", "research", "platform")
TENANT_WEIGHTS: tuple[float, ...] = (0.25, 0.25, 0.15, 0.15, 0.1, 0.1)
#: (tenant, window from now in hours, share): a spending cap on the tenant's jobs that
#: start in the window (a burn rate), see :func:`tenant_budgets`.
BUDGETS: tuple[tuple[str, int, float], ...] = (
    ("nlp", 3, 0.3),
    ("recsys", 6, 0.3),
    ("research", 12, 0.3),
)
#: Room a budget leaves above the cheapest cost of the jobs that cannot leave its window
#: (quotas push some of them to dearer offerings).
BUDGET_MARGIN = 1.2


@dataclass(frozen=True)
class InstanceSpec:
    jobs: int
    seed: int = 0
    distinct: bool = False
    #: Total quota of an on-demand resource / peak demand on it when every job runs on
    #: its cheapest on-demand column (see :func:`contended_pools`).
    contention: float = 1.25
    #: Total quota of a spot resource / peak demand of the per-job-cheapest placement on it.
    spot_contention: float = 0.5
    slot_s: int = 3600
    horizon_h: int = 24
    philly_share: float = 0.5
    array_min: int = 5
    array_max: int = 25
    later_share: float = 0.2
    later_max_h: int = 12
    slack: tuple[float, float] = (1.2, 4.0)
    spot_share: float = 0.7
    data_share: float = 0.3
    data_gb: tuple[float, float] = (10.0, 500.0)
    one_cloud_share: float = 0.1
    checkpoint_interval_s: int = 1800
    restart_overhead_s: int = 120
    #: (tenant, window hours, share) per budget; see :data:`BUDGETS`.
    budgets: tuple[tuple[str, int, float], ...] = BUDGETS

    @property
    def horizon_slots(self) -> int:
        return -(-self.horizon_h * 3600 // self.slot_s)

    @property
    def name(self) -> str:
        size = f"{self.jobs / 1000:g}k" if self.jobs >= 1000 else str(self.jobs)
        slots = "" if self.slot_s == 3600 else f"-{self.slot_s // 60}min"
        return size + ("-distinct" if self.distinct else "") + slots


@dataclass(frozen=True)
class BuiltInstance:
    spec: InstanceSpec
    problem: solver.Problem
    #: The rules over ``problem`` (its per-job columns already computed).
    reference: Reference
    #: Each job alone on its cheapest timely column, quotas and budgets ignored.
    cheapest: Mapping[str, solver.Decision]
    #: Counts and parameters worth reporting (offerings, pools, arrays, ...).
    info: Mapping[str, object] = field(default_factory=dict)


# --- offerings --------------------------------------------------------------------


def load_offerings(
    catalog_source: Path | CatalogSources,
    *,
    regions: Collection[str] = REGIONS,
    instance_types: Collection[str] = INSTANCE_TYPES,
) -> Catalog:
    """The slice of the catalog the benchmark uses; ``catalog_source`` is what
    :func:`adapters.catalog.load_catalog` takes (a data directory or ``CatalogSources``)."""
    clouds = sorted({r.split(":", 1)[0] for r in regions})
    catalog = load_catalog(
        catalog_source,
        clouds=clouds,
        regions=regions,
        instance_filter=frozenset(instance_types).__contains__,
    )
    return replace(catalog, offerings=one_zone_per_region(catalog.offerings))


def one_zone_per_region(offerings: Sequence[CatalogOffering]) -> tuple[CatalogOffering, ...]:
    """Keep, per cloud and region, the zone with the most offerings (ties: by name)."""
    count: dict[tuple[str, str, str], int] = {}
    for o in offerings:
        key = (o.cloud, o.region, o.zone)
        count[key] = count.get(key, 0) + 1
    best: dict[tuple[str, str], str] = {}
    for (cloud, region, zone), n in sorted(count.items()):
        current = best.get((cloud, region))
        if current is None or n > count[(cloud, region, current)]:
            best[(cloud, region)] = zone
    return tuple(o for o in offerings if best[(o.cloud, o.region)] == o.zone)


def egress_prices(table: EgressTable, locations: Sequence[str]) -> tuple[solver.EgressPrice, ...]:
    return tuple(
        solver.EgressPrice(src, dst, solver.money_to_micros(table.price_per_gb(src, dst)))
        for src in locations
        for dst in locations
        if src != dst
    )


# --- jobs -------------------------------------------------------------------------


def _largest(offerings: Sequence[solver.Offering], gpu_type: str, gpus: int) -> tuple[float, float]:
    """(vCPUs, GiB) of the largest node selling ``gpus`` of ``gpu_type`` (or CPU only)."""
    fits = [
        o
        for o in offerings
        if (o.gpu_type == gpu_type and o.gpu_count >= gpus) or (not gpus and not o.gpu_count)
    ]
    if not fits:
        return math.inf, math.inf
    return max(o.vcpus for o in fits), max(o.memory_gib for o in fits)


def make_jobs(
    spec: InstanceSpec, traces: Traces, offerings: Sequence[solver.Offering]
) -> tuple[list[solver.Job], dict[str, int]]:
    rng = np.random.default_rng(spec.seed)
    most: dict[str, int] = {}  # GPU model -> most GPUs of it on one node
    for o in offerings:
        if o.gpu_count:
            most[o.gpu_type] = max(most.get(o.gpu_type, 0), o.gpu_count)
    clouds = sorted({o.cloud for o in offerings})
    locations = sorted({o.location for o in offerings})
    mixes: dict[tuple[str, int], tuple[list[str], np.ndarray]] = {}

    def mix_for(source: str, gpus: int) -> tuple[list[str], np.ndarray]:
        """The models of the source's mix sold with ``gpus`` or more on one node (if none
        is, every model that is)."""
        if (source, gpus) not in mixes:
            mix = GPU_MIX[source]
            names = [g for g in mix if most.get(g, 0) >= gpus]
            names = names or sorted(g for g, n in most.items() if n >= gpus)
            weights = np.array([mix.get(g, 1.0) for g in names])
            mixes[(source, gpus)] = (names, weights / max(weights.sum(), 1e-12))
        return mixes[(source, gpus)]

    largest: dict[tuple[str, int], tuple[float, float]] = {}
    selling: dict[tuple[str, int], list[str]] = {}
    jobs: list[solver.Job] = []
    arrays = 0
    while len(jobs) < spec.jobs:
        source = "philly" if rng.random() < spec.philly_share else "alibaba"
        pool = traces.philly if source == "philly" else traces.alibaba
        if not pool:
            pool = traces.alibaba or traces.philly
        shape: JobShape = pool[int(rng.integers(len(pool)))]
        size = min(int(rng.integers(spec.array_min, spec.array_max + 1)), spec.jobs - len(jobs))
        gpu_type = ""
        if shape.gpu_count:
            names, weights = mix_for(shape.source, shape.gpu_count)
            gpu_type = str(names[int(rng.choice(len(names), p=weights))]) if names else "none"
        key = (gpu_type, shape.gpu_count)
        if key not in largest:
            largest[key] = _largest(offerings, gpu_type, shape.gpu_count)
            selling[key] = (
                sorted(
                    {
                        o.cloud
                        for o in offerings
                        if (o.gpu_type == gpu_type and o.gpu_count >= shape.gpu_count)
                        or not (shape.gpu_count or o.gpu_count)
                    }
                )
                or clouds
            )
        max_cpu, max_mem = largest[key]
        later = rng.random() < spec.later_share
        earliest = NOW + (int(rng.integers(1, spec.later_max_h + 1)) * 3600 if later else 0)
        slack = float(rng.uniform(*spec.slack))
        spot = bool(rng.random() < spec.spot_share)
        data_location, data_gb = "", 0.0
        if rng.random() < spec.data_share and locations:
            data_location = str(locations[int(rng.integers(len(locations)))])
            data_gb = round(float(rng.uniform(*spec.data_gb)), 1)
        allowed: frozenset[str] = frozenset()
        if rng.random() < spec.one_cloud_share:
            # Only a cloud that sells the job's GPU: nobody pins a job to a cloud it
            # cannot run on.
            sellers = selling.get(key, clouds)
            allowed = frozenset({str(sellers[int(rng.integers(len(sellers)))])})
        tenant = str(TENANTS[int(rng.choice(len(TENANTS), p=TENANT_WEIGHTS))])
        runtimes = [shape.runtime_s] * size
        if spec.distinct:
            # +-10%, made strictly increasing so no two tasks of the array are alike.
            drawn = np.sort(np.rint(shape.runtime_s * rng.uniform(0.9, 1.1, size)))
            runtimes = [int(drawn[0])]
            for value in drawn[1:]:
                runtimes.append(max(int(value), runtimes[-1] + 1))
        for k in range(size):
            runtime = runtimes[k]
            runtime_p = math.ceil(1.2 * runtime)
            jobs.append(
                solver.Job(
                    id=f"{shape.trace_id}-a{arrays:06d}-{k:02d}",
                    vcpus=min(shape.vcpus, max_cpu),
                    memory_gib=min(shape.memory_gib, max_mem),
                    runtime_s=runtime,
                    runtime_p_s=runtime_p,
                    deadline=earliest + math.ceil(runtime_p * slack),
                    gpu_count=shape.gpu_count,
                    gpu_type=gpu_type,
                    earliest_start=earliest,
                    spot_allowed=spot,
                    restart_overhead_s=spec.restart_overhead_s,
                    checkpoint_interval_s=spec.checkpoint_interval_s,
                    allowed_clouds=allowed,
                    data_location=data_location,
                    data_gb=data_gb,
                    tenant=tenant,
                )
            )
        arrays += 1
    return jobs, {"arrays": arrays}


# --- quotas and budgets -----------------------------------------------------------


def on_demand_placement(
    ref: Reference, cheapest: Mapping[str, solver.Decision]
) -> dict[str, solver.Decision]:
    """Every job alone on its cheapest timely *on-demand* column, quotas and budgets
    ignored; a job with none keeps its place in ``cheapest``."""
    od = ref.per_job_cheapest(on_demand_only=True)
    return {jid: d if d.offering_id is not None else cheapest[jid] for jid, d in od.items()}


def contended_pools(
    ref: Reference,
    cheapest: Mapping[str, solver.Decision],
    on_demand: Mapping[str, solver.Decision],
    contention: float,
    spot_contention: float,
    rng: np.random.Generator,
) -> tuple[solver.QuotaPool, ...]:
    """Per resource, a multiple of a peak demand, split over the resource's pools by
    random weights (see the module docstring): a spot resource (``spot-vcpu``,
    ``spot-gpu:<model>``) gets ``spot_contention`` x the peak ``cheapest`` puts on it;
    any other (on-demand, or shared by both markets) ``contention`` x the peak
    ``on_demand`` (every job on its cheapest on-demand column) puts on it."""
    use_cheapest = ref.usage(dict(cheapest))
    use_on_demand = ref.usage(dict(on_demand))
    biggest = np.zeros(len(ref.pool_ids))
    for draws in ref.draws:
        for p, amt in draws:
            biggest[p] = max(biggest[p], amt)
    by_resource: dict[str, list[int]] = {}
    for p, pid in enumerate(ref.pool_ids):
        by_resource.setdefault(resource_of(pid), []).append(p)
    free = np.zeros(len(ref.pool_ids))
    for resource, members in sorted(by_resource.items()):
        spot = resource.startswith(SPOT_PREFIX)
        use, factor = (use_cheapest, spot_contention) if spot else (use_on_demand, contention)
        peak = float(use[members].sum(axis=0).max())
        weights = rng.uniform(0.6, 1.4, len(members))
        share = factor * peak * weights / weights.sum()
        free[members] = np.maximum(np.floor(share), np.ceil(biggest[members]))
    return tuple(solver.QuotaPool(pid, float(free[p])) for p, pid in enumerate(ref.pool_ids))


def tenant_budgets(
    ref: Reference,
    cheapest: Mapping[str, solver.Decision],
    on_demand: Mapping[str, solver.Decision],
    budgets: Sequence[tuple[str, int, float]],
) -> tuple[solver.Budget, ...]:
    """Per (tenant, window hours, share): a cap on the cost of the tenant's jobs that
    start in the first ``window`` hours. The per-job-cheapest placement starts everything at
    once; of the jobs it starts in the window, those that must start there (no timely
    column after it) get :data:`BUDGET_MARGIN` x their cost on their cheapest on-demand
    column (``on_demand``: spot quota is scarce, so the cap must not count on spot for
    them), those that could wait ``share`` x their cost in ``cheapest``. So the cap can
    be kept by deferring work, and a planner that starts everything at once may overrun
    it. (Priced at ``cheapest`` instead, the must-start work alone can exceed the cap
    once spot is scarce: at 1k jobs, seed 0, that forced 10 jobs out of every plan.)"""
    problem = ref.problem
    jobs = {j.id: j for j in problem.jobs}
    out = []
    for name, window_h, share in budgets:
        window = -(-window_h * 3600 // problem.slot_s)  # slots
        end = problem.now + window * problem.slot_s
        must = movable = 0
        for d in cheapest.values():
            job = jobs[d.job_id]
            if d.start is None or job.tenant != name or d.start >= end:
                continue
            if ref.group_of(job).timely[:, window:].any():
                movable += d.expected_cost_micros
            else:
                must += on_demand[d.job_id].expected_cost_micros
        if must or movable:
            limit = int(BUDGET_MARGIN * must + share * movable)
            out.append(solver.Budget(name, limit, problem.now, end))
    return tuple(out)


# --- the whole instance -----------------------------------------------------------


def build_instance(spec: InstanceSpec, catalog: Catalog, traces: Traces) -> BuiltInstance:
    """One benchmark problem from a catalog slice and the traces (no I/O)."""
    offerings = tuple(solver_offering(o) for o in catalog.offerings)
    locations = sorted({o.location for o in offerings})
    jobs, info = make_jobs(spec, traces, offerings)
    base = solver.Problem(
        now=NOW,
        jobs=tuple(jobs),
        offerings=offerings,
        egress=egress_prices(catalog.egress, locations),
        slot_s=spec.slot_s,
        horizon_slots=spec.horizon_slots,
    )
    ref = Reference(base)
    cheapest = ref.per_job_cheapest()
    rng = np.random.default_rng([spec.seed, 1])
    on_demand = on_demand_placement(ref, cheapest)
    pools = contended_pools(ref, cheapest, on_demand, spec.contention, spec.spot_contention, rng)
    problem = replace(
        base, quota_pools=pools, budgets=tenant_budgets(ref, cheapest, on_demand, spec.budgets)
    )
    gpu_pools = [q for q in pools if kind_of(q.id).endswith("gpu")]
    spot_pools = [q for q in pools if is_spot(q.id)]
    on_spot = sum(
        1
        for d in cheapest.values()
        if d.offering_id is not None and ref.spot[ref.offering_index[d.offering_id]]
    )
    all_info: dict[str, object] = {
        **info,
        "jobs": len(jobs),
        "classes": len(ref.groups()),
        "jobs_without_timely_column": sum(len(g.ids) for g in ref.groups() if not g.timely.any()),
        "offerings": len(offerings),
        "spot_offerings": sum(o.market is solver.Market.SPOT for o in offerings),
        "regions": len(locations),
        "pools": len(pools),
        "vcpu_pools": len(pools) - len(gpu_pools),
        "gpu_pools": len(gpu_pools),
        "spot_pools": len(spot_pools),
        "cheapest_on_spot": on_spot,
        "budgets": len(problem.budgets),
        "tenants": len({j.tenant for j in jobs}),
        "contention": spec.contention,
        "spot_contention": spec.spot_contention,
        "slot_s": spec.slot_s,
        "horizon_slots": spec.horizon_slots,
        "seed": spec.seed,
    }
    return BuiltInstance(
        spec,
        problem,
        Reference(problem, share=ref),
        MappingProxyType(cheapest),
        MappingProxyType(all_info),
    )
