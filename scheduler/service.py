"""``skybatch serve`` assembled: store + gRPC API + control loop + the local cloud."""

from __future__ import annotations

import logging
import threading
from datetime import datetime

from adapters.base import CloudPort
from adapters.faults import FaultyCloud
from adapters.local import LocalCloudConfig, LocalNodeDriver, make_local_cloud
from scheduler.analysis import offering_price_table
from scheduler.api.admin_service import AdminService
from scheduler.api.explain import PlanSnapshot
from scheduler.api.job_service import JobService
from scheduler.api.report_service import ReportService
from scheduler.api.server import BindError, GrpcServer
from scheduler.api.worker_service import WorkerService
from scheduler.clouds import real_cloud
from scheduler.config import ServeConfig
from scheduler.control import ControlLoop
from scheduler.control.billing_feed import BillingFeed
from scheduler.control.costmodel import CostModelKeeper
from scheduler.control.launcher import Launcher
from scheduler.costs import RefitSettings
from scheduler.domain import utcnow
from scheduler.offerings import OfferingCatalog
from scheduler.store import (
    AttemptStore,
    BillingStore,
    CostModelStore,
    Database,
    HistoryStore,
    JobStore,
)

log = logging.getLogger(__name__)


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
        self.catalog = OfferingCatalog(ports)
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
                ),
                reports=ReportService(
                    self.db, lambda: offering_price_table(self.catalog.offerings())
                ),
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
        )
        self.loop = ControlLoop(
            self.attempts,
            self.catalog,
            self.launcher,
            settings=config.control,
            clock=self._now,
            costs=self.keeper,
        )
        self._threads: list[threading.Thread] = []
        self._stopped = False

    def _now(self) -> datetime:
        return self.clock()

    def _last_plan(self) -> PlanSnapshot:
        return self.loop.last_tick or (None, None)

    @property
    def address(self) -> str:
        return self.server.address

    def start(self, *, control_loop: bool = True) -> None:
        """Serve the API; ``control_loop=False`` serves without planning (for tests)."""
        self.server.start()
        if control_loop:
            # Refits and bill fetches run beside the loop, never inside a planning tick.
            targets = [("control-loop", self.loop.run), ("cost-model", self.keeper.run)]
            targets += [(f"bill-{f.name}", f.run) for f in self.feeds if f.interval_s > 0]
            for name, target in targets:
                thread = threading.Thread(
                    target=target, args=(self.stopping,), name=name, daemon=True
                )
                thread.start()
                self._threads.append(thread)
        log.info("skybatch serving on %s (store %s)", self.address, self.config.database_url)

    def stop(self, grace_s: float = 5.0) -> None:
        """Finish the current tick, drain streams, close. Nodes keep running (like VMs)."""
        if self._stopped:
            return
        self._stopped = True
        self.stopping.set()
        self.keeper.wake()
        for thread in self._threads:
            thread.join(timeout=30)
        self.server.stop(grace_s)
        self.driver.close()
        self.db.close()
