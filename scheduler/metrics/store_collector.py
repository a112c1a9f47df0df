"""The metrics the store is the truth for, counted at scrape time and cached.

Deriving them from the store (rather than counting in the loop) makes every replica
report the same global numbers and survives restarts. The aggregate queries run at
most once per ``ttl_s`` however often Prometheus (or several of them) scrapes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from scheduler.domain import JobState
from scheduler.store import StoreCounts
from solver.money import from_micros

log = logging.getLogger(__name__)


class _Families:
    """The store's metric families, fresh (empty) for each scrape."""

    def __init__(self) -> None:
        self.jobs = GaugeMetricFamily(
            "skybatch_jobs", "Jobs in the store by state (queue depth).", labels=["state"]
        )
        self.launches = CounterMetricFamily(
            "skybatch_launches",
            "Attempts that got a node from the cloud.",
            labels=["cloud", "region"],
        )
        self.launch_failures = CounterMetricFamily(
            "skybatch_launch_failures",
            "Attempts the cloud refused or that never got a node, by kind "
            "(capacity, quota, throttled, offering_vanished, error, other).",
            labels=["cloud", "region", "kind"],
        )
        self.preemptions = CounterMetricFamily(
            "skybatch_preemptions",
            "Attempts ended by a spot preemption.",
            labels=["cloud", "region"],
        )
        self.spend = CounterMetricFamily(
            "skybatch_spend_dollars",
            "Dollars spent on ended attempts (their price times their node time).",
            labels=["tenant", "cloud", "region"],
        )
        self.misses = CounterMetricFamily(
            "skybatch_deadline_misses",
            "Jobs that succeeded or failed after their deadline.",
            labels=["tenant"],
        )
        self.past = GaugeMetricFamily(
            "skybatch_jobs_past_deadline",
            "Jobs not yet ended whose deadline has passed.",
            labels=["tenant"],
        )

    def all(self) -> list[Metric]:
        return [
            self.jobs,
            self.launches,
            self.launch_failures,
            self.preemptions,
            self.spend,
            self.misses,
            self.past,
        ]


class StoreCollector(Collector):
    """A ``prometheus_client`` collector over ``counts()`` (one store snapshot)."""

    def __init__(
        self,
        counts: Callable[[], StoreCounts],
        *,
        ttl_s: float = 5.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.counts = counts
        self.ttl_s = ttl_s
        self.monotonic = monotonic
        self._lock = threading.Lock()
        self._at = float("-inf")
        self._cached: StoreCounts | None = None

    def describe(self) -> Iterator[Metric]:
        # Names only: registering must not query the store.
        yield from _Families().all()

    def snapshot(self) -> StoreCounts | None:
        """The cached counts, refreshed when older than ``ttl_s`` (None: store failing)."""
        with self._lock:
            now = self.monotonic()
            if now - self._at >= self.ttl_s:
                self._at = now
                try:
                    self._cached = self.counts()
                except Exception as exc:
                    # A failed query is cached too, so a scrape storm cannot pile onto a
                    # struggling database; the store's series are absent until it answers.
                    log.warning("metrics: store query failed: %s", exc)
                    self._cached = None
            return self._cached

    def collect(self) -> Iterator[Metric]:
        counts = self.snapshot()
        if counts is None:
            return
        f = _Families()
        for state in JobState:
            f.jobs.add_metric([state.value.lower()], counts.jobs_by_state.get(state.value, 0))
        for (cloud, region), n in sorted(counts.launches.items()):
            f.launches.add_metric([cloud, region], n)
        for (cloud, region, kind), n in sorted(counts.launch_failures.items()):
            f.launch_failures.add_metric([cloud, region, kind], n)
        for (cloud, region), n in sorted(counts.preemptions.items()):
            f.preemptions.add_metric([cloud, region], n)
        for (tenant, cloud, region), micros in sorted(counts.spend_micros.items()):
            # Exact Decimal up to here; Prometheus samples are floats.
            f.spend.add_metric([tenant, cloud, region], float(from_micros(micros)))
        for tenant, n in sorted(counts.deadline_misses.items()):
            f.misses.add_metric([tenant], n)
        for tenant, n in sorted(counts.past_deadline.items()):
            f.past.add_metric([tenant], n)
        yield from f.all()
