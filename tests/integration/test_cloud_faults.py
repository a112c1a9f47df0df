"""The control loop against a cloud that fails on purpose (``adapters.faults``).

A real server, store and local cloud; the local cloud is wrapped in a ``FaultyCloud``
and the loop is ticked by hand, so each test sees exactly what one fault does:
capacity errors block an offering and send the job elsewhere; a quota error lowers
the pool's known limit; throttled launches back off and retry with the same token,
never launching twice, and give up after a bounded number of tries.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import timedelta

from adapters.faults import Faults, FaultyCloud
from scheduler.api.client import SkybatchClient
from scheduler.control.settings import ControlSettings
from scheduler.domain import JobSpec, JobState, Resources, utcnow
from scheduler.service import Service
from tests.conftest import ServiceFactory

counter = itertools.count()
US, EU = "us-central1", "europe-west4"


def spec(**kw: object) -> JobSpec:
    base = JobSpec(
        name=f"fault-{next(counter)}",
        command=("python", "-c", "import time; time.sleep(30)"),
        estimated_runtime=timedelta(minutes=5),
        deadline=utcnow() + timedelta(hours=2),
        resources=Resources(vcpus=2, memory_gib=4),
        allowed_regions=(US, EU),
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def faulty(svc: Service, faults: Faults) -> FaultyCloud:
    cloud = FaultyCloud(svc.catalog.clouds["local"], faults)
    svc.catalog.clouds["local"] = cloud
    return cloud


def test_no_capacity_blocks_the_offering_and_the_job_lands_elsewhere(
    service_factory: ServiceFactory,
) -> None:
    svc = service_factory(control_loop=False)
    cloud = faulty(svc, Faults(no_capacity_regions={US}))
    with SkybatchClient(svc.address) as c:
        c.wait_ready()
        [(job, _)] = c.submit([spec()])
        svc.loop.tick()  # planned in the cheapest region, refused for capacity
        first = c.get(job.id)
        assert first.state is JobState.PENDING
        assert "capacity error on local/us-central1" in first.state_reason
        assert any(o.startswith(f"local/{US}/") for o in svc.loop.launcher.blocked_now())
        svc.loop.tick()  # the blocked offering is out of the next plan
        placed = c.get(job.id)
        assert placed.state in (JobState.LAUNCHING, JobState.RUNNING)
        assert placed.attempts[-1].placement.region == EU
    assert cloud.injected["capacity"] >= 1


def test_a_quota_error_lowers_the_known_limit_and_the_plan_waits(
    service_factory: ServiceFactory,
) -> None:
    svc = service_factory(control_loop=False)
    pool = f"local/{US}/vcpu"
    faulty(svc, Faults(hidden_quota={pool: 2.0}))
    with SkybatchClient(svc.address) as c:
        c.wait_ready()
        jobs = [job for job, _ in c.submit([spec(allowed_regions=(US,)) for _ in range(2)])]
        svc.loop.tick()  # both planned against the configured 32 vCPUs; one refused
        states = sorted(c.get(j.id).state.value for j in jobs)
        assert states.count(JobState.PENDING.value) == 1
        assert {q.pool: q.capacity for q in svc.catalog.quotas()}[pool] == 2.0
        waiting = next(c.get(j.id) for j in jobs if c.get(j.id).state is JobState.PENDING)
        assert "quota" in waiting.state_reason and "limit of" in waiting.state_reason
        svc.loop.launcher.blocked.clear()  # even with the offering unblocked ...
        svc.loop.tick()
        again = c.get(waiting.id)
        # ... the planner now knows the pool is full and keeps the job waiting.
        assert again.state is JobState.PENDING
        assert len(again.attempts) == 1


def test_throttled_launches_back_off_retry_with_the_same_token_and_never_double_launch(
    service_factory: ServiceFactory,
) -> None:
    settings = ControlSettings(throttle_base_s=0.0, throttle_cap_s=0.0, throttle_max_tries=50)
    svc = service_factory(control_loop=False, control=settings)
    cloud = faulty(svc, Faults())
    with SkybatchClient(svc.address) as c:
        c.wait_ready()
        jobs = [job for job, _ in c.submit([spec() for _ in range(3)])]
        cloud.faults = Faults(throttle_rate=1.0, seed=1)
        for _ in range(4):  # every call throttled: launches "went through" half the time
            svc.loop.tick()
        assert svc.loop.launcher.throttled >= 3
        cloud.faults = Faults()  # the API recovers
        for _ in range(3):
            svc.loop.tick()
        for job in jobs:
            view = c.get(job.id)
            assert view.state in (JobState.LAUNCHING, JobState.RUNNING), view.state_reason
            assert len(view.attempts) == 1
        # one node per attempt, although some launches were answered "throttled" after
        # the node had been made
        nodes = [n for n in svc.driver.list_nodes() if n.state != "terminated"]
        tokens = [n.extra["client_token"] for n in nodes]
        assert sorted(tokens) == sorted(c.get(j.id).attempts[0].id for j in jobs)


def test_a_launch_throttled_too_often_is_given_up_and_replanned(
    service_factory: ServiceFactory,
) -> None:
    settings = ControlSettings(throttle_base_s=0.0, throttle_cap_s=0.0, throttle_max_tries=2)
    svc = service_factory(control_loop=False, control=settings)
    cloud = faulty(svc, Faults())
    with SkybatchClient(svc.address) as c:
        c.wait_ready()
        [(job, _)] = c.submit([spec()])
        # every launch refused before it is made
        cloud.faults = Faults(throttle_rate=2.0, throttle_calls={"launch"})
        svc.loop.tick()
        svc.loop.tick()
        view = c.get(job.id)
        assert view.state is JobState.PENDING
        assert "launch throttled 2 times" in view.state_reason
        assert view.attempts[0].state.value == "FAILED"
    assert cloud.injected["throttled"] >= 2
