"""The live part of the cost-model benchmark: two periods of real jobs on the local cloud.

One :class:`~scheduler.service.Service` (temporary data dir, the local cloud only, with
the hidden :class:`~benchmarks.costmodel.truth.Truth`) runs:

1. period 1: submit a workload, wait until every job is terminal and every node is
   gone, fetch the FOCUS bill (``svc.feeds[0].fetch()``: write, ingest, tell the
   keeper), and wait for the keeper's billing-triggered refit (v1);
2. period 2: a fresh workload of the same mix (the planner now prices with v1), wait,
   fetch the bill, wait for the next refit (v2, whose held-back accuracy is a cross-check).

Bill fetches and refits run only when this module asks: the feed's and the keeper's own
schedules are set to ~30 years. Every node is destroyed and every process reaped at the
end, whatever happened.
"""

from __future__ import annotations

import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from libcloud.compute.types import NodeState

from adapters.base import Offering, QuotaLimit
from benchmarks.costmodel.truth import Truth, make_jobs
from scheduler.api.client import SkybatchClient
from scheduler.config import ServeConfig
from scheduler.control import ControlSettings
from scheduler.control.costmodel import USAGE
from scheduler.costs import RefitSettings
from scheduler.domain import CostModelVersion, JobView, utcnow
from scheduler.service import Service


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True)
class LiveSettings:
    jobs: int
    seed: int
    steps: tuple[int, int]
    vcpu_quota: float
    deadline: timedelta
    period_timeout_s: float
    #: As the end-to-end tests run the service, but an offering whose launch was refused
    #: is avoided for 10 s, not 300: a refusal here is a transient quota race (a finished
    #: attempt's node still counts against the quota until it is destroyed), and 300 s
    #: would stall a job for five minutes of a two-minute period.
    control: ControlSettings = field(
        default_factory=lambda: ControlSettings(
            tick_interval_s=0.3,
            restart_overhead_s=5,
            heartbeat_timeout_s=10,
            capacity_cooldown_s=10,
        )
    )


@dataclass
class Period:
    number: int
    #: The jobs as submitted (PENDING, no progress): the planning problem of its first tick.
    submitted: list[JobView]
    #: Cost-model version the planner used when the period's jobs were submitted.
    planned_with: int
    wall_s: float = 0.0
    final: list[JobView] = field(default_factory=list)
    bill: dict[str, Any] = field(default_factory=dict)
    #: The version the keeper fitted once this period's bill was in.
    refit: CostModelVersion | None = None

    @property
    def job_ids(self) -> list[str]:
        return [j.id for j in self.submitted]


@dataclass
class LiveRun:
    config: ServeConfig
    periods: list[Period]
    catalog: list[Offering]
    quotas: list[QuotaLimit]
    #: History and billing as the keeper saw them when it fitted v1 (for the refit with
    #: unscaled priors) and at the end.
    frames_v1: dict[str, pd.DataFrame]
    frames_end: dict[str, pd.DataFrame]
    wall_s: float


def frames(svc: Service) -> dict[str, pd.DataFrame]:
    """What :meth:`CostModelKeeper.refit_now` reads: attempts, jobs, billed usage lines."""
    lines = svc.billing.lines_frame(matched_only=True)
    return {
        "attempts": svc.keeper.history.attempts_frame(),
        "jobs": svc.keeper.history.jobs_frame(),
        "lines": lines[lines["charge_category"] == USAGE].reset_index(drop=True),
    }


def _live_nodes(svc: Service) -> list[str]:
    return [str(n.id) for n in svc.driver.list_nodes() if n.state != NodeState.TERMINATED]


def _wait(what: str, done: Callable[[], bool], timeout_s: float, poll_s: float = 0.2) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout_s:g} s waiting for {what}")
        time.sleep(poll_s)


def _wait_jobs(client: SkybatchClient, period: Period, timeout_s: float) -> list[JobView]:
    wanted = set(period.job_ids)
    started = time.monotonic()
    last_note = 0.0
    while True:
        views = [
            v for v in client.list_all(labels={"period": str(period.number)}) if v.id in wanted
        ]
        done = sum(v.state.terminal for v in views)
        elapsed = time.monotonic() - started
        if done == len(wanted):
            return sorted(views, key=lambda v: v.id)
        if elapsed > timeout_s:
            raise TimeoutError(f"period {period.number}: {done}/{len(wanted)} jobs done")
        if elapsed - last_note >= 10:
            last_note = elapsed
            running = sum(v.state.name in ("RUNNING", "LAUNCHING") for v in views)
            preempted = sum(v.preemptions for v in views)
            log(
                f"  period {period.number}: {done}/{len(wanted)} done, {running} running, "
                f"{preempted} preemptions so far ({elapsed:.0f} s)"
            )
        time.sleep(1.0)


def _close_period(svc: Service, period: Period, timeout_s: float) -> None:
    """Wait for the nodes to go, fetch and ingest the bill, wait for the keeper's refit."""
    _wait("the period's nodes to terminate", lambda: not _live_nodes(svc), 60)
    before = svc.models.newest_version()
    report = svc.feeds[0].fetch()
    if report is None:
        raise RuntimeError(f"period {period.number}: the local cloud's bill has no rows")
    period.bill = {
        "rows": report.rows,
        "added": report.added,
        "matched": report.matched,
        "billed_cost": str(report.billed_cost),
    }
    log(
        f"  bill: {report.rows} rows ({report.added} new, {report.matched} matched), "
        f"${report.billed_cost:.6f} billed in all"
    )
    try:
        _wait("the keeper's refit", lambda: svc.models.newest_version() > before, timeout_s)
        period.refit = svc.models.newest()
    except TimeoutError:  # the keeper's thread did not refit: do it here
        log("  the keeper did not refit on the new bill; refitting by hand")
        period.refit = svc.keeper.refit_now(trigger="manual")
    assert period.refit is not None
    log(
        f"  refit: cost model v{period.refit.version} ({period.refit.trigger}), "
        f"{period.refit.inputs.get('fit_seconds', 0):.2f} s"
    )


def _run_period(
    svc: Service, client: SkybatchClient, number: int, settings: LiveSettings
) -> Period:
    version, _ = svc.keeper.current()
    specs = make_jobs(
        settings.jobs,
        seed=settings.seed,
        period=number,
        steps=settings.steps,
        now=utcnow(),
        deadline=settings.deadline,
    )
    log(f"period {number}: submitting {len(specs)} jobs (planner on cost model v{version})")
    started = time.monotonic()
    period = Period(number, [job for job, _ in client.submit(specs)], version)
    period.final = _wait_jobs(client, period, settings.period_timeout_s)
    period.wall_s = time.monotonic() - started
    states = {s: sum(v.state.name == s for v in period.final) for s in ("SUCCEEDED", "FAILED")}
    log(
        f"period {number}: all done in {period.wall_s:.0f} s ({states['SUCCEEDED']} succeeded, "
        f"{states['FAILED']} failed, {sum(v.preemptions for v in period.final)} preemptions)"
    )
    _close_period(svc, period, 60)
    return period


def _destroy_all(svc: Service) -> None:
    nodes = [n for n in svc.driver.list_nodes() if n.state != NodeState.TERMINATED]
    for node in nodes:
        svc.driver.destroy_node(node)
    ids = [str(n.id) for n in svc.driver.list_nodes()]
    try:
        _wait("node processes to exit", lambda: not any(map(svc.driver.ex_node_alive, ids)), 15)
    except TimeoutError as e:
        log(f"warning: {e}")


def run_live(truth: Truth, settings: LiveSettings, data_dir: Path | None = None) -> LiveRun:
    """Both periods on a fresh service under ``data_dir`` (default: a temporary dir)."""
    with tempfile.TemporaryDirectory(
        prefix="skybatch-costmodel-", ignore_cleanup_errors=True
    ) as tmp:
        return _run_live(truth, settings, data_dir or Path(tmp))


def _run_live(truth: Truth, settings: LiveSettings, data_dir: Path) -> LiveRun:
    config = ServeConfig(
        data_dir=data_dir,
        bind="127.0.0.1:0",
        control=settings.control,
        local_launch_delay_s=0.1,
        local_vcpu_quota=settings.vcpu_quota,
        preemption=truth.preemption(settings.seed),
        local_billing=truth.billing(),
        # Bills are fetched by the benchmark (feed.fetch()) and refits follow them.
        local_bill_interval_s=0,
        refit_interval_s=0,
        # Prior strengths in compressed time: see Truth.refit_settings.
        refit=truth.refit_settings(
            RefitSettings(runtime_prior_factor=settings.control.runtime_pessimism)
        ),
    )
    started = time.monotonic()
    svc = Service(config)
    try:
        svc.start()
        catalog, quotas = svc.catalog.offerings(), svc.catalog.quotas()
        with SkybatchClient(svc.address) as client:
            client.wait_ready()
            first = _run_period(svc, client, 1, settings)
            frames_v1 = frames(svc)
            second = _run_period(svc, client, 2, settings)
        frames_end = frames(svc)
    finally:
        svc.stop(grace_s=0.5)
        _destroy_all(svc)
    return LiveRun(
        config=config,
        periods=[first, second],
        catalog=catalog,
        quotas=quotas,
        frames_v1=frames_v1,
        frames_end=frames_end,
        wall_s=time.monotonic() - started,
    )
