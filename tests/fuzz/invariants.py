"""What must hold after a fuzz run: every stored job is still a valid job, and the
control loop kept planning."""

from __future__ import annotations

import logging
import math
import time
from datetime import UTC, timedelta

from scheduler.domain import JobState, JobView
from scheduler.jobspec import MAX_COMMAND_BYTES, MAX_RUNTIME, validate
from scheduler.service import Service
from scheduler.store import JobStore
from tests.fuzz.conftest import FuzzServer


def stored_jobs(jobs: JobStore) -> list[JobView]:
    out: list[JobView] = []
    token = ""
    while True:
        page, token = jobs.list_page(None, page_size=1000, page_token=token)
        out.extend(page)
        if not token:
            return out


def assert_valid(job: JobView, svc: Service) -> None:
    s = job.spec
    assert s.deadline.utcoffset() == timedelta(0), (job.id, s.deadline)
    assert job.created_at.utcoffset() == timedelta(0), (job.id, job.created_at)
    assert s.deadline > job.created_at, (job.id, s.deadline, job.created_at)
    assert s.deadline <= job.created_at + timedelta(days=366), (job.id, s.deadline)
    assert timedelta(0) < s.estimated_runtime <= MAX_RUNTIME, (job.id, s.estimated_runtime)
    assert sum(len(a.encode()) for a in s.command) <= MAX_COMMAND_BYTES, job.id
    assert all("\x00" not in a for a in s.command), job.id
    for x in (s.resources.vcpus, s.resources.memory_gib):
        assert math.isfinite(x) and x > 0, (job.id, s.resources)
    assert 0 <= job.progress <= 1 and 0 <= job.checkpoint_progress <= 1, job.id
    assert job.cost.is_finite() and job.cost >= 0, (job.id, job.cost)
    for a in job.attempts:
        assert 0 <= a.progress <= 1 and a.cost.is_finite() and a.cost >= 0, (job.id, a)
        assert a.created_at.utcoffset() == timedelta(0), (job.id, a)
    # The whole rule set, as the server applied it when the job came in.
    again = validate(s, now=job.created_at.astimezone(UTC), offerings=svc.catalog.offerings())
    assert again == s, (job.id, s, again)


def assert_store_valid(server: FuzzServer) -> int:
    """Every stored job re-validates; returns how many there are."""
    jobs = stored_jobs(server.service.jobs)
    for job in jobs:
        assert_valid(job, server.service)
    return len(jobs)


def assert_loop_planning(server: FuzzServer, timeout_s: float = 30) -> None:
    """A control loop that survived the fuzzed jobs plans some of them, and no tick failed."""
    svc = server.service
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        jobs = stored_jobs(svc.jobs)
        if any(j.state is not JobState.PENDING for j in jobs) and svc.loop.ticks > 0:
            break
        time.sleep(0.3)
    else:
        raise AssertionError("no fuzzed job left PENDING: is the control loop planning?")
    ticks = svc.loop.ticks
    time.sleep(1.0)
    assert svc.loop.ticks > ticks, "the control loop stopped ticking"
    assert_no_errors_logged(server)


def assert_no_errors_logged(server: FuzzServer) -> None:
    """Nothing the server logged as an error: each is shown once, with where it came from."""
    failures = sorted(
        {
            f"{r.name}: {r.getMessage()}"
            + (f" {logging.Formatter().formatException(r.exc_info)[-700:]}" if r.exc_info else "")
            for r in server.errors.records
        }
    )
    assert failures == [], failures
