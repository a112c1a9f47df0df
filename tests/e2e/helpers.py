"""Helpers for the end-to-end tests: jobs running the checkpointing counter, waits."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta

from libcloud.compute.types import NodeState

from scheduler.api.client import SkybatchClient
from scheduler.domain import JobSpec, JobState, JobView, Resources, utcnow
from scheduler.service import Service


def counter_job(name: str, steps: int, step_s: float, **kw: object) -> JobSpec:
    spec = JobSpec(
        name=name,
        command=(
            "python",
            "-m",
            "scheduler.workloads.counter",
            "--steps",
            str(steps),
            "--step-seconds",
            str(step_s),
        ),
        estimated_runtime=timedelta(seconds=steps * step_s + 2),
        deadline=utcnow() + timedelta(minutes=10),
        resources=Resources(vcpus=1, memory_gib=2),
        checkpoint_interval=timedelta(seconds=1),
    )
    return replace(spec, **kw)  # type: ignore[arg-type]


def wait_for(
    c: SkybatchClient, job_id: str, pred: Callable[[JobView], bool], timeout_s: float = 60
) -> JobView:
    deadline = time.monotonic() + timeout_s
    while True:
        job = c.get(job_id)
        if pred(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out; job is {job.state} ({job.state_reason})")
        time.sleep(0.2)


def terminal(job: JobView) -> bool:
    return job.state.terminal


def running(job: JobView) -> bool:
    return job.state is JobState.RUNNING and job.progress > 0


def live_nodes(service: Service) -> list[str]:
    return [n.id for n in service.driver.list_nodes() if n.state != NodeState.TERMINATED]


def wait_no_live_nodes(service: Service, timeout_s: float = 15) -> None:
    deadline = time.monotonic() + timeout_s
    while live_nodes(service) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert live_nodes(service) == []
