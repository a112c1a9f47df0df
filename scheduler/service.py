"""``skybatch serve`` assembled: store + gRPC API + control loop + the local cloud."""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime
from typing import Any

import grpc

import solver
from adapters.base import CloudPort
from adapters.faults import FaultyCloud
from adapters.local import LocalCloudConfig, LocalNodeDriver, make_local_cloud
from scheduler.analysis import offering_price_table
from scheduler.api.admin_quotas import QuotaSources
from scheduler.api.admin_service import AdminService
from scheduler.api.auth import auth_interceptor
from scheduler.api.explain import PlanSnapshot
from scheduler.api.job_service import JobService
from scheduler.api.malformed import MalformedRequests
from scheduler.api.report_service import ReportService
from scheduler.api.server import BindError, GrpcServer
from scheduler.api.worker_service import WorkerService
from scheduler.clouds import real_cloud
from scheduler.config import ServeConfig
from scheduler.control import ControlLoop
from scheduler.control.billing_feed import BillingFeed
from scheduler.control.costmodel import CostModelKeeper
from scheduler.control.launcher import Launcher
from scheduler.control.leader import LeaderElection
from scheduler.control.planner import TenantBudgets
from scheduler.control.solve_process import SolveProcess
from scheduler.costs import RefitSettings
from scheduler.domain import utcnow
from scheduler.health import StoreWatcher
from scheduler.metrics import GrpcMetricsInterceptor, MetricsEndpoint, ServiceMetrics
from scheduler.offerings import OfferingCatalog
from scheduler.store import (
    AttemptStore,
    BillingStore,
    CostModelStore,
    Database,
    HistoryStore,
    JobStore,
    QuotaStore,
    TenantStore,
    ping,
    store_counts,
)
from scheduler.store.leader import leader_lock

log = logging.getLogger(__name__)

#: The gRPC health service name that reports SERVING only on the leading replica.
LEADER_HEALTH_SERVICE = "skybatch.leader"


class Service:
    """Start with :meth:`start`, stop with :meth:`stop` (idempotent)."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self.clock = utcnow
        config.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = Database(config.database_url)
        self.jobs = JobStore(self.db)
        self.attempts = AttemptStore(self.db)
        self.billing = BillingStore(self.db)
        self.models = CostModelStore(self.db)
        self.tenants = TenantStore(self.db)
        self.quota_caps = QuotaStore(self.db)
        self.driver: LocalNodeDriver
        self.driver, local = make_local_cloud(
            LocalCloudConfig(
                state_dir=config.local_cloud_dir,
                vcpu_quota_per_region=config.local_vcpu_quota,
                launch_delay_s=config.local_launch_delay_s,
                preemption=config.preemption,
                billing=config.local_billing,
            )
        )
        ports: list[CloudPort] = [local] if "local" in config.clouds else []
        ports += [real_cloud(name) for name in config.clouds if name != "local"]
        if config.faults is not None:
            faults = config.faults
            ports = [FaultyCloud(port, faults) for port in ports]
            log.warning("fault injection is on: %s", faults)
        # Admin caps are read at every plan: a change applies from the next tick.
        self.catalog = OfferingCatalog(ports, caps=self.quota_caps.limits)
        self.stopping = threading.Event()
        self.keeper = CostModelKeeper(
            HistoryStore(self.db),
            self.billing,
            self.models,
            self.catalog,
            clock=self._now,
            interval_s=config.refit_interval_s,
            settings=config.refit
            or RefitSettings(runtime_prior_factor=config.control.runtime_pessimism),
        )
        #: Bill fetchers (the local cloud's); each fetches on its own thread when its
        #: interval is positive, and on demand (``fetch()``) always.
        self.feeds: list[BillingFeed] = []
        if "local" in config.clouds:
            self.feeds.append(
                BillingFeed(
                    "local",
                    lambda path, until: self.driver.ex_write_bill(path, until=until),
                    self.billing,
                    self.keeper,
                    spool_dir=config.billing_dir,
                    clock=self._now,
                    interval_s=config.local_bill_interval_s,
                )
            )
        secret = self.attempts.secret("attempt-token-hmac")
        #: Always kept (cheap); served over HTTP only with ``metrics_bind``, and only then
        #: are RPCs counted (the interceptor costs a little on every call).
        self.metrics = ServiceMetrics(lambda: store_counts(self.db, self._now()))
        self.metrics_endpoint: MetricsEndpoint | None = None
        interceptors: list[grpc.ServerInterceptor[Any, Any]] = (
            [GrpcMetricsInterceptor(self.metrics)] if config.metrics_bind else []
        )
        # Unparseable requests get INVALID_ARGUMENT before anything else sees them.
        interceptors.append(MalformedRequests())
        auth = auth_interceptor(
            config.auth,
            lookup=self.tenants.principal,
            clock=self._now,
            token_cache_s=config.token_cache_s,
            rate_limit=config.rate_limit,
            rate_burst=config.rate_burst,
        )
        if auth is not None:
            interceptors.append(auth)
        try:
            self.server = GrpcServer(
                config.bind,
                JobService(
                    self.jobs, self.catalog, self._now, self.stopping, last_plan=self._last_plan
                ),
                WorkerService(
                    self.attempts,
                    secret=secret,
                    checkpoint_uri=config.checkpoints,
                    heartbeat_interval=config.heartbeat_interval,
                    clock=self._now,
                ),
                AdminService(
                    self.billing,
                    self.models,
                    self.keeper,
                    spool_dir=config.billing_dir,
                    clock=self._now,
                    tenants=self.tenants,
                    quotas=QuotaSources(self.quota_caps, self.catalog, self.attempts),
                ),
                reports=ReportService(
                    self.db, lambda: offering_price_table(self.catalog.offerings())
                ),
                interceptors=interceptors,
                credentials=config.tls.credentials() if config.tls is not None else None,
                max_request_bytes=config.max_message_bytes,
            )
        except BindError:
            self.driver.close()
            self.db.close()
            raise
        self.launcher = Launcher(
            self.attempts,
            self.catalog,
            secret=secret,
            server_address=config.advertise or self.server.address,
            worker_python=config.worker_python,
            settings=config.control,
            clock=self._now,
            worker_tls=config.tls.for_workers() if config.tls is not None else None,
        )
        #: Big plans are solved in a worker process: the API keeps the GIL meanwhile.
        self.solve_process = SolveProcess(solver.solve)
        self.loop = ControlLoop(
            self.attempts,
            self.catalog,
            self.launcher,
            settings=config.control,
            clock=self._now,
            costs=self.keeper,
            solve=self.solve_process,
            budgets=TenantBudgets(
                self.tenants,
                self.attempts,
                settings=config.control,
                model=lambda: self.keeper.current()[1],
            ),
        )
        self.loop.on_plan = self.metrics.observe_plan
        self.store_watcher = StoreWatcher(
            lambda: ping(self.db),
            interval_s=config.store_probe_interval_s,
            listeners=[self.server.set_serving, self.metrics.set_store_up],
        )
        self._threads: list[threading.Thread] = []
        self._stopped = False
        #: Replicas sharing the store: only the lock holder runs the control loop.
        self.election = LeaderElection(
            leader_lock(config.database_url),
            on_elected=self._lead,
            on_deposed=self._step_down,
            interval_s=config.leader_interval_s,
            name=self.server.address,
        )
        self._term_threads: list[threading.Thread] = []

    def _now(self) -> datetime:
        return self.clock()

    def _last_plan(self) -> PlanSnapshot:
        return self.loop.last_tick or (None, None)

    @property
    def address(self) -> str:
        return self.server.address

    def start(self, *, control_loop: bool = True) -> None:
        """Serve the API; ``control_loop=False`` serves without planning (for tests)."""
        if self.config.metrics_bind:
            # Bound first: a taken port fails the start before the API is up.
            self.metrics_endpoint = MetricsEndpoint(
                self.config.metrics_bind,
                self.metrics.registry,
                healthy=lambda: bool(self.store_watcher.up),
            )
            self.metrics_endpoint.start()
        self.server.start(serving=self.store_watcher.check())
        self.metrics.set_leader(False)  # until elected: see _lead
        self._set_leader_health(False)
        targets = [("store-watch", self.store_watcher.run)]
        if control_loop:
            # The first round here: a replica alone on its store leads once started.
            self.election.step()
            targets += [("leader-election", self.election.run)]
        for name, target in targets:
            thread = threading.Thread(target=target, args=(self.stopping,), name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        log.info("skybatch serving on %s (store %s)", self.address, self.config.database_url)

    @property
    def leading(self) -> bool:
        return self.election.leading

    def _lead(self, term: threading.Event) -> None:
        """Elected: run the control loop, refits and bill fetches until ``term`` is set."""
        # Fenced once the term ends, except by a graceful stop: then the lock is held
        # until the running tick is over (released after on_deposed), and the tick may
        # finish its launches rather than leave attempts half-launched.
        self.launcher.fenced = lambda: term.is_set() and not self.stopping.is_set()
        # Refits and bill fetches run beside the loop, never inside a planning tick.
        targets = [("control-loop", self.loop.run), ("cost-model", self.keeper.run)]
        targets += [(f"bill-{f.name}", f.run) for f in self.feeds if f.interval_s > 0]
        self._term_threads = [
            threading.Thread(target=target, args=(term,), name=name, daemon=True)
            for name, target in targets
        ]
        for thread in self._term_threads:
            thread.start()
        self.metrics.set_leader(True)
        self._set_leader_health(True)

    def _step_down(self) -> None:
        """The term ended (lock lost, or stopping): wait for its threads to finish."""
        self._set_leader_health(False)
        self.metrics.set_leader(False)
        self.keeper.wake()
        for thread in self._term_threads:
            thread.join(timeout=30)
            if thread.is_alive():
                log.warning("%s still busy after the term ended", thread.name)
        self._term_threads = []

    def _set_leader_health(self, leading: bool) -> None:
        # Health service "skybatch.leader" is SERVING on the leader only (for operators
        # and load balancers). grpc.health.v1 statuses: 1 SERVING, 2 NOT_SERVING.
        self.server.health.set(LEADER_HEALTH_SERVICE, 1 if leading else 2)

    def stop(self, grace_s: float = 5.0, *, timeout_s: float | None = None) -> None:
        """Refuse new RPCs, end ``WatchJobs`` streams (they see ``stopping`` and return
        OK), give running RPCs ``grace_s``, let the control loop finish its tick, close;
        all within ``timeout_s`` (default ``grace_s`` + 30 s for a long tick). Nodes keep
        running (like VMs); the next start adopts them."""
        if self._stopped:
            return
        self._stopped = True
        timeout_s = grace_s + 30.0 if timeout_s is None else timeout_s
        deadline = time.monotonic() + timeout_s
        self.stopping.set()
        self.keeper.wake()
        drained = self.server.begin_stop(min(grace_s, timeout_s))
        for thread in self._threads:
            thread.join(timeout=max(0.0, deadline - time.monotonic()))
            if thread.is_alive():
                # Every store write is one transaction: cutting a tick short here
                # loses no state, only the rest of the tick's work.
                log.warning("%s still busy after %.0fs: leaving it", thread.name, timeout_s)
        drained.wait(max(0.0, deadline - time.monotonic()))
        if self.metrics_endpoint is not None:
            self.metrics_endpoint.stop()
        self.solve_process.close()
        self.driver.close()
        self.db.close()
        log.info("skybatch stopped")
