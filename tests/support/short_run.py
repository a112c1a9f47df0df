"""A short local run that leaves a store worth analysing, and a fixture that makes one.

Eleven counter jobs of a few seconds for two tenants, labelled ``class`` and ``team``:
six may run on spot (the first spot node is preempted once, so one job resumes; team
b's run in europe-west4, where nothing runs on demand), one asks for 8 vCPUs and so
runs on an n2-standard-8 at on-demand prices (the costliest job by far). The local
cloud bills n2 shapes 30% and spot 10% below list price, a discount the scheduler is
not told; the bill is fetched and ingested, and the cost model refitted, before the
service stops. About 10 s.

``run_short_local(data_dir)`` does it; the ``short_run`` fixture (session-scoped, for
tests that only read the store) calls it once. A test module uses the fixture by
importing it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from libcloud.compute.types import NodeState

from adapters.local import LocalBilling, PreemptionPolicy, PriceRule, ScheduledPreemption
from scheduler.api.client import SkybatchClient
from scheduler.config import ServeConfig
from scheduler.control import ControlSettings
from scheduler.control.billing_feed import BillingFeed
from scheduler.domain import JobState, Resources
from scheduler.service import Service
from scheduler.store.engine import sqlite_url
from tests.e2e.helpers import counter_job, terminal, wait_for, wait_no_live_nodes

#: The hidden truth of the local cloud's bill (first matching rule wins).
PRICE_RULES = (
    PriceRule(instance_type="n2-*", multiplier=Decimal("0.7")),
    PriceRule(market="spot", multiplier=Decimal("0.9")),
)

TENANTS = ("team-a", "team-b")


@dataclass(frozen=True)
class ShortRun:
    """What the run left behind, and what the tests may expect of it."""

    data_dir: Path
    db_url: str
    #: Job ids by tenant, in submission order.
    jobs: dict[str, tuple[str, ...]]
    #: The 8-vCPU job: the costliest of the run.
    expensive_job_id: str
    #: The cost-model version the run's refit stored (the keeper may store another
    #: one, refitting on its own when the bill arrives).
    model_version: int


def _jobs_for(tenant: str) -> list[tuple[str, dict[str, object]]]:
    """(name, counter_job keyword arguments) of one tenant's jobs: three that may use
    spot, two on demand. Team b's spot jobs must run in europe-west4 and its on-demand
    ones in us-central1, so that europe-west4 has spot attempts and no on-demand one."""
    team = tenant.removeprefix("team-")
    labels = {"class": "counter", "team": team}
    spot: dict[str, object] = {"spot_allowed": True, "labels": labels}
    on_demand: dict[str, object] = {"labels": labels}
    if team == "b":
        spot["allowed_regions"] = ("europe-west4",)
        on_demand["allowed_regions"] = ("us-central1",)
    return [(f"{team}-spot-{i}", spot) for i in range(3)] + [
        (f"{team}-od-{i}", on_demand) for i in range(2)
    ]


def run_short_local(data_dir: Path, *, timeout_s: float = 60) -> ShortRun:
    """Run the jobs to the end on the local cloud under ``data_dir``, fetch the bill,
    refit the cost model once and stop the service (its nodes all terminated)."""
    config = ServeConfig(
        data_dir=data_dir,
        # Explicit: never a store that SKYBATCH_DB_URL in the environment points to.
        db_url=sqlite_url(data_dir / "skybatch.db"),
        bind="127.0.0.1:0",
        control=ControlSettings(tick_interval_s=0.3, restart_overhead_s=2, heartbeat_timeout_s=10),
        local_launch_delay_s=0.1,
        local_vcpu_quota=32,
        preemption=PreemptionPolicy(
            grace_s=0.5, schedule=(ScheduledPreemption(nth_spot_launch=1, after_s=1.5),)
        ),
        local_billing=LocalBilling(price_rules=PRICE_RULES),
        # The test fetches the bill itself, once every node has ended.
        local_bill_interval_s=0,
        refit_interval_s=3600,
    )
    svc = Service(config)
    svc.start()
    try:
        jobs: dict[str, tuple[str, ...]] = {}
        expensive = ""
        for tenant in TENANTS:
            with SkybatchClient(svc.address, tenant=tenant) as c:
                c.wait_ready()
                specs = [counter_job(name, 8, 0.4, **kw) for name, kw in _jobs_for(tenant)]
                if tenant == TENANTS[0]:
                    big = counter_job(
                        "a-big",
                        10,
                        0.4,
                        resources=Resources(vcpus=8, memory_gib=16),
                        labels={"class": "big", "team": "a"},
                    )
                    specs.append(big)
                submitted = c.submit(specs)
                jobs[tenant] = tuple(job.id for job, _ in submitted)
                if tenant == TENANTS[0]:
                    expensive = submitted[-1][0].id
        for tenant, ids in jobs.items():
            with SkybatchClient(svc.address, tenant=tenant) as c:
                for job_id in ids:
                    done = wait_for(c, job_id, terminal, timeout_s)
                    assert done.state is JobState.SUCCEEDED, (job_id, done.state_reason)
        wait_no_live_nodes(svc)
        feed = BillingFeed(
            "local",
            lambda path, until: svc.driver.ex_write_bill(path, until=until),
            svc.billing,
            svc.keeper,
            spool_dir=config.billing_dir,
            clock=svc.clock,
            interval_s=3600,
        )
        report = feed.fetch()
        assert report is not None and report.matched > 0, report
        version = svc.keeper.refit_now(trigger="manual")
        return ShortRun(
            data_dir=data_dir,
            db_url=config.database_url,
            jobs=jobs,
            expensive_job_id=expensive,
            model_version=version.version,
        )
    finally:
        svc.stop(grace_s=0.5)
        for node in svc.driver.list_nodes():
            if node.state != NodeState.TERMINATED:
                svc.driver.destroy_node(node)


@pytest.fixture(scope="session")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ShortRun]:
    """A store left by :func:`run_short_local` (read it, do not write it)."""
    yield run_short_local(tmp_path_factory.mktemp("short-run"))
