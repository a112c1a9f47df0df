"""Budgets per tenant, enforced by the planner: the whole loop on the local cloud with a
real store; a tenant whose budget is spent waits PENDING while another's jobs run."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from scheduler.api.admin_client import AdminClient
from scheduler.api.channel import PLAINTEXT
from scheduler.api.client import SkybatchClient
from scheduler.control.planner import TenantBudgets
from scheduler.domain import JobState, utcnow
from scheduler.store import Database, TenantStore
from scheduler.store.engine import sqlite_url
from scheduler.tenancy import BudgetWindow, Role, TenantBudget, window_bounds
from tests.conftest import ServiceFactory
from tests.integration.test_api import spec

MICROS = 1_000_000


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_spent_budget_holds_the_tenants_jobs_while_others_run(
    service_factory: ServiceFactory,
) -> None:
    svc = service_factory()
    now = utcnow()
    for name in ("tight", "free"):
        svc.tenants.create_tenant(name, Role.USER, now)
    with AdminClient(svc.address, token="", tls=PLAINTEXT) as admin:
        status = admin.set_budget("tight", Decimal("0.000001"), BudgetWindow.DAY)
        assert status.budget.amount == Decimal("0.000001") and status.spent == 0
    quick = ("python", "-c", "print('hi')")
    with (
        SkybatchClient(svc.address, tenant="tight", token="", tls=PLAINTEXT) as tight,
        SkybatchClient(svc.address, tenant="free", token="", tls=PLAINTEXT) as free,
    ):
        [(held, _)] = tight.submit([spec(command=quick)])
        [(runs, _)] = free.submit([spec(command=quick)])
        wait_for("the free tenant's job", lambda: free.get(runs.id).state is JobState.SUCCEEDED)
        wait_for("a budget reason", lambda: "budget" in tight.get(held.id).state_reason)
        job = tight.get(held.id)
        assert job.state is JobState.PENDING and job.attempts == ()
        # Raising the budget lets it run.
        with AdminClient(svc.address, token="", tls=PLAINTEXT) as admin:
            admin.set_budget("tight", Decimal("100"), BudgetWindow.DAY)
        wait_for("the held job", lambda: tight.get(held.id).state is JobState.SUCCEEDED)
        cost = tight.get(held.id).cost
    with AdminClient(svc.address, token="", tls=PLAINTEXT) as admin:
        [after] = admin.budgets("tight")
        assert after.spent == cost > 0


def test_running_attempts_count_against_the_budget_as_committed(
    service_factory: ServiceFactory,
) -> None:
    """A running hour-long job holds its expected cost against the budget before any of
    it is billed; a budget that leaves less than a second job costs holds that one."""
    svc = service_factory()
    svc.tenants.create_tenant("team", Role.USER, utcnow())
    svc.tenants.set_budget("team", 1_000 * MICROS, BudgetWindow.MONTH, utcnow())
    budgets = TenantBudgets(svc.tenants, svc.attempts, settings=svc.config.control)
    long = spec(
        command=("python", "-c", "import time; time.sleep(120)"),
        estimated_runtime=timedelta(hours=1),
        deadline=utcnow() + timedelta(hours=4),
    )
    with SkybatchClient(svc.address, tenant="team", token="", tls=PLAINTEXT) as c:
        [(first, _)] = c.submit([long])
        wait_for("the first job", lambda: c.get(first.id).state is JobState.RUNNING)
        [attempt] = c.get(first.id).attempts
        [budget] = budgets(utcnow())
        committed = 1_000 * MICROS - budget.limit_micros
        hourly = int(attempt.placement.price_per_hour * MICROS)
        assert hourly <= committed <= hourly * 4  # an hour, times the runtime pessimism
        svc.tenants.set_budget("team", committed + 1, BudgetWindow.MONTH, utcnow())
        [(second, _)] = c.submit([replace(long, name="second")])
        wait_for("a budget reason", lambda: "budget" in c.get(second.id).state_reason)
        assert c.get(second.id).state is JobState.PENDING
        c.cancel(first.id)
        c.cancel(second.id)


def test_budget_windows_and_store(tmp_path: Path) -> None:
    db = Database(sqlite_url(tmp_path / "s.db"))
    try:
        store = TenantStore(db)
        now = datetime(2026, 12, 31, 15, 0, tzinfo=UTC)
        store.create_tenant("t", Role.USER, now)
        month = store.set_budget("t", 5_000_000, BudgetWindow.MONTH, now)
        assert month.bounds(now) == (
            datetime(2026, 12, 1, tzinfo=UTC),
            datetime(2027, 1, 1, tzinfo=UTC),
        )
        assert window_bounds(BudgetWindow.WEEK, now)[0] == datetime(2026, 12, 28, tzinfo=UTC)
        start, end = now, now + timedelta(days=3)
        store.set_budget("t", 1, BudgetWindow.PERIOD, now, period=(start, end))
        again = store.set_budget("t", 7_000_000, BudgetWindow.MONTH, now)
        assert again.amount == Decimal("7")
        budgets = store.budgets("t")
        assert [b.window for b in budgets] == [BudgetWindow.MONTH, BudgetWindow.PERIOD]
        assert isinstance(budgets[1], TenantBudget) and budgets[1].bounds(now) == (start, end)
        with pytest.raises(Exception, match="period"):
            store.set_budget("t", 1, BudgetWindow.PERIOD, now)
        assert store.ended_spend_micros("t", start, end) == 0
    finally:
        db.close()
