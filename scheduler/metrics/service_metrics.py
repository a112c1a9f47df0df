"""The service's metric registry: store-derived families, the control loop's plan
measurements, gRPC request counts and latencies, leadership and store health."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from scheduler.control.loop import TickStats
from scheduler.metrics.store_collector import StoreCollector
from scheduler.store import StoreCounts

PLAN_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
RPC_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class ServiceMetrics:
    """Owns a ``CollectorRegistry``; the service feeds it, the HTTP endpoint serves it."""

    def __init__(self, counts: Callable[[], StoreCounts], *, store_ttl_s: float = 5.0) -> None:
        self.registry = CollectorRegistry()
        self.store = StoreCollector(counts, ttl_s=store_ttl_s)
        self.registry.register(self.store)
        r = self.registry
        self.plan_duration = Histogram(
            "skybatch_plan_duration_seconds",
            "Time the solver took to plan the pending jobs, per control-loop tick.",
            buckets=PLAN_BUCKETS,
            registry=r,
        )
        self.plan_gap = Gauge(
            "skybatch_plan_gap_ratio",
            "The last plan's optimality gap: (objective - bound) / bound (0 = proven optimal).",
            registry=r,
        )
        self.plan_jobs = Gauge(
            "skybatch_plan_jobs",
            "Pending jobs in the last plan: placed (starting now) or unplaced (waiting).",
            ["outcome"],
            registry=r,
        )
        self.leader = Gauge(
            "skybatch_leader",
            "1 if this replica runs the control loop, else 0.",
            registry=r,
        )
        self.store_up = Gauge(
            "skybatch_store_up",
            "1 if the store answered the last health probe, else 0.",
            registry=r,
        )
        self.rpc_requests = Counter(
            "skybatch_grpc_requests",
            "gRPC requests handled, by service, method and status code.",
            ["service", "method", "code"],
            registry=r,
        )
        self.rpc_duration = Histogram(
            "skybatch_grpc_request_duration_seconds",
            "Latency of unary gRPC requests (streams are counted, not timed).",
            ["service", "method"],
            buckets=RPC_BUCKETS,
            registry=r,
        )
        for outcome in ("placed", "unplaced"):
            self.plan_jobs.labels(outcome).set(0)

    def observe_plan(self, stats: TickStats) -> None:
        """The control loop's observer: called after each tick that solved a plan."""
        self.plan_duration.observe(stats.plan_seconds)
        self.plan_gap.set(stats.gap)
        self.plan_jobs.labels("placed").set(stats.planned)
        self.plan_jobs.labels("unplaced").set(stats.pending - stats.planned)

    def set_leader(self, leading: bool) -> None:
        self.leader.set(1 if leading else 0)

    def set_store_up(self, up: bool) -> None:
        self.store_up.set(1 if up else 0)
