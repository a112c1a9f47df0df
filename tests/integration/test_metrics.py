"""Prometheus metrics of a real service: scraped over HTTP after real jobs ran on the
local cloud (one refused for capacity, one preempted, one late), linted by
``promtool check metrics`` and checked against what the store says."""

from __future__ import annotations

import itertools
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.faults import Faults
from adapters.local import PreemptionPolicy, ScheduledPreemption
from scheduler.api.client import SkybatchClient
from scheduler.domain import JobSpec, JobState, JobView, Resources, utcnow
from scheduler.metrics import MetricsBindError, StoreCollector
from scheduler.service import Service
from scheduler.store import StoreCounts
from tests.conftest import ServiceFactory, serve_config
from tests.e2e.helpers import counter_job, terminal, wait_for

US, EU = "us-central1", "europe-west4"
names = itertools.count()

#: Every family the service exports; after the run below each must have samples.
FAMILIES = (
    "skybatch_jobs",
    "skybatch_jobs_past_deadline",
    "skybatch_launches",
    "skybatch_launch_failures",
    "skybatch_preemptions",
    "skybatch_spend_dollars",
    "skybatch_deadline_misses",
    "skybatch_plan_duration_seconds",
    "skybatch_plan_gap_ratio",
    "skybatch_plan_jobs",
    "skybatch_leader",
    "skybatch_store_up",
    "skybatch_grpc_requests",
    "skybatch_grpc_request_duration_seconds",
)

Samples = dict[str, list[tuple[dict[str, str], float]]]


def job(steps: int, step_s: float, **kw: object) -> JobSpec:
    base = counter_job(f"m{next(names)}", steps, step_s, allowed_regions=(US, EU))
    return replace(base, **kw)  # type: ignore[arg-type]


def scrape(svc: Service, path: str = "/metrics") -> str:
    assert svc.metrics_endpoint is not None
    with urllib.request.urlopen(f"http://{svc.metrics_endpoint.address}{path}", timeout=10) as r:
        body: bytes = r.read()
        return body.decode()


def samples(text: str) -> Samples:
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            out.setdefault(s.name, []).append((dict(s.labels), s.value))
    return out


def value(got: Samples, name: str, **labels: str) -> float:
    return sum(v for ls, v in got.get(name, []) if all(ls.get(k) == x for k, x in labels.items()))


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Service, list[JobView]]]:
    """One service, one run of jobs covering every metric family; shared by the tests."""
    svc = Service(
        serve_config(
            tmp_path_factory.mktemp("metrics"),
            metrics_bind="127.0.0.1:0",
            local_vcpu_quota=6.0,
            faults=Faults(no_capacity_regions={US}),
            preemption=PreemptionPolicy(
                grace_s=0.5, schedule=(ScheduledPreemption(nth_spot_launch=1, after_s=1.0),)
            ),
        )
    )
    svc.start()
    try:
        with SkybatchClient(svc.address) as c:
            c.wait_ready()
            specs = [
                job(3, 0.2),
                job(10, 0.3, spot_allowed=True),
                # Estimated at 1 s, runs ~6 s: finishes after its deadline.
                job(
                    30,
                    0.2,
                    estimated_runtime=timedelta(seconds=1),
                    deadline=utcnow() + timedelta(seconds=5),
                ),
            ]
            jobs = [j for j, _ in c.submit(specs)]
            # 8 vCPUs under a 6-vCPU quota: waits, and goes past its deadline.
            [(stuck, _)] = c.submit(
                [
                    job(
                        1,
                        0.1,
                        resources=Resources(vcpus=8, memory_gib=8),
                        estimated_runtime=timedelta(seconds=1),
                        deadline=utcnow() + timedelta(seconds=4),
                    )
                ]
            )
            with pytest.raises(grpc.RpcError):
                c.get("j-does-not-exist")
            done = [wait_for(c, j.id, terminal, timeout_s=90) for j in jobs]
            done.append(wait_for(c, stuck.id, lambda j: j.spec.deadline < utcnow()))
        yield svc, done
    finally:
        svc.stop(grace_s=0.5)
        for node in svc.driver.list_nodes():
            svc.driver.destroy_node(node)


def test_promtool_finds_no_problem_in_a_real_scrape(ran: tuple[Service, list[JobView]]) -> None:
    svc, _ = ran
    text = scrape(svc)
    lint = subprocess.run(
        ["promtool", "check", "metrics"], input=text, capture_output=True, text=True, check=False
    )
    assert lint.returncode == 0, lint.stdout + lint.stderr
    assert lint.stdout.strip() == "" and lint.stderr.strip() == "", lint.stdout + lint.stderr
    families = {f.name: f for f in text_string_to_metric_families(text)}
    empty = [name for name in FAMILIES if name not in families or not families[name].samples]
    assert empty == [], f"families without samples: {empty}"


def test_values_match_the_store(ran: tuple[Service, list[JobView]]) -> None:
    svc, done = ran
    svc.metrics.store.ttl_s = 0.0  # this test compares against the store right now
    got = samples(scrape(svc))
    states = [j.state for j in done]
    expected_states = [JobState.SUCCEEDED] * 3 + [JobState.PENDING]
    assert states == expected_states, [(j.state, j.state_reason) for j in done]
    for state in JobState:
        expected = sum(1 for j in done if j.state is state)
        assert value(got, "skybatch_jobs", state=state.value.lower()) == expected, state

    attempts = [a for j in done for a in j.attempts]
    launched = [a for a in attempts if a.node_id]
    assert value(got, "skybatch_launches_total") == len(launched)
    assert value(got, "skybatch_launches_total", cloud="local", region=US) == 0
    # The first launch went to the cheaper US region and was refused for capacity.
    assert value(got, "skybatch_launch_failures_total", region=US, kind="capacity") >= 1
    assert value(got, "skybatch_launch_failures_total") == len(attempts) - len(launched)
    assert value(got, "skybatch_preemptions_total", cloud="local") == 1
    assert sum(1 for a in attempts if a.preempted) == 1

    spend = sum((a.cost for a in attempts), Decimal(0))
    assert spend > 0
    assert value(got, "skybatch_spend_dollars_total", tenant="default") == pytest.approx(
        float(spend), abs=1e-9
    )
    assert value(got, "skybatch_deadline_misses_total", tenant="default") == 1
    assert value(got, "skybatch_jobs_past_deadline", tenant="default") == 1

    assert value(got, "skybatch_plan_duration_seconds_count") >= 1
    assert value(got, "skybatch_leader") == 1 and value(got, "skybatch_store_up") == 1
    submits = {
        method: value(
            got,
            "skybatch_grpc_requests_total",
            service="skybatch.v1.JobService",
            method=method,
            code="OK",
        )
        for method in ("SubmitJobs", "SubmitJob")
    }
    assert submits == {"SubmitJobs": 1, "SubmitJob": 1}
    not_found = value(got, "skybatch_grpc_requests_total", method="GetJob", code="NOT_FOUND")
    assert not_found == 1
    assert value(got, "skybatch_grpc_request_duration_seconds_count", method="GetJob") >= 1


def test_healthz_answers_200_while_the_store_answers(ran: tuple[Service, list[JobView]]) -> None:
    svc, _ = ran
    assert scrape(svc, "/healthz") == "ok\n"
    svc.store_watcher.up = False  # as if the last probe had failed
    try:
        with pytest.raises(urllib.error.HTTPError) as info:
            scrape(svc, "/healthz")
        info.value.close()
        assert info.value.code == 503
    finally:
        svc.store_watcher.check()
    assert scrape(svc, "/healthz") == "ok\n"


def _counts(n: int) -> StoreCounts:
    return StoreCounts({"PENDING": n}, {}, {}, {}, {}, {}, {})


def test_the_store_is_queried_at_most_once_per_ttl_and_a_failure_drops_its_series() -> None:
    now = [0.0]
    calls: list[int] = []

    def counts() -> StoreCounts:
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("database is down")
        return _counts(len(calls))

    collector = StoreCollector(counts, ttl_s=5.0, monotonic=lambda: now[0])

    def pending() -> float | None:
        for family in collector.collect():
            for s in family.samples:
                if s.labels.get("state") == "pending":
                    return s.value
        return None

    assert pending() == 1
    now[0] = 4.9
    assert pending() == 1 and len(calls) == 1  # cached
    now[0] = 5.0
    assert pending() == 2 and len(calls) == 2
    now[0] = 10.0
    assert pending() is None and len(calls) == 3  # failed: no stale numbers
    now[0] = 12.0
    assert pending() is None and len(calls) == 3  # the failure is cached too
    now[0] = 15.0
    assert pending() == 4


def test_a_service_without_metrics_bind_serves_no_endpoint(
    service_factory: ServiceFactory,
) -> None:
    svc = service_factory(control_loop=False)
    assert svc.metrics_endpoint is None
    with SkybatchClient(svc.address) as c:
        c.wait_ready()
        c.submit(
            [
                JobSpec(
                    name="x",
                    command=("true",),
                    estimated_runtime=timedelta(seconds=5),
                    deadline=utcnow() + timedelta(hours=1),
                    resources=Resources(vcpus=1, memory_gib=1),
                )
            ]
        )
    # No interceptor: nothing counted when nobody can scrape it.
    assert svc.metrics.rpc_requests.collect()[0].samples == []


@pytest.mark.parametrize("bind", ["9464", "host:port", "127.0.0.1:99999"])
def test_serve_refuses_a_bad_metrics_bind(tmp_path: Path, bind: str) -> None:
    argv = [sys.executable, "-m", "scheduler", "serve", "--data-dir", str(tmp_path)]
    run = subprocess.run(
        [*argv, "--bind", "127.0.0.1:0", "--metrics-bind", bind],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert run.returncode == 2, run.stderr
    assert "--metrics-bind" in run.stderr


def test_a_taken_metrics_port_fails_the_start_clearly(
    service_factory: ServiceFactory, tmp_path: Path
) -> None:
    first = service_factory(control_loop=False, metrics_bind="127.0.0.1:0")
    assert first.metrics_endpoint is not None
    with pytest.raises(MetricsBindError, match="cannot listen"):
        service_factory(
            control_loop=False,
            data_dir=tmp_path / "second",
            metrics_bind=first.metrics_endpoint.address,
        )
