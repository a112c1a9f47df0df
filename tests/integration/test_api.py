"""The job API over real gRPC on a port, with a real SQLite store (no control loop)."""

from __future__ import annotations

import itertools
import threading
from dataclasses import replace
from datetime import timedelta

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from scheduler.api.client import SkybatchClient
from scheduler.api.gen.skybatch.v1 import jobs_pb2, jobs_pb2_grpc, worker_pb2, worker_pb2_grpc
from scheduler.domain import JobEvent, JobSpec, JobState, Resources, utcnow
from scheduler.service import Service

counter = itertools.count()


def spec(**kw: object) -> JobSpec:
    base = JobSpec(
        name=f"job-{next(counter)}",
        command=("python", "-c", "print('hi')"),
        estimated_runtime=timedelta(seconds=30),
        deadline=utcnow() + timedelta(hours=1),
        resources=Resources(vcpus=1, memory_gib=2),
        labels={"team": "a"},
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def invalid(c: SkybatchClient, specs: list[JobSpec]) -> str:
    with pytest.raises(grpc.RpcError) as info:
        c.submit(specs)
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    return str(info.value.details())


def test_submit_get_list_cancel(api: SkybatchClient) -> None:
    [(job, created)] = api.submit([spec(name="one")])
    assert created and job.state is JobState.PENDING and job.tenant == "default"
    got = api.get(job.id)
    assert got.spec.name == "one" and got.spec.command == ("python", "-c", "print('hi')")
    assert got.spec.deadline == job.spec.deadline
    jobs, token = api.list_page()
    assert [j.id for j in jobs] == [job.id] and token == ""
    cancelled = api.cancel(job.id, "no longer needed")
    assert cancelled.state is JobState.CANCELLED
    assert api.cancel(job.id).state is JobState.CANCELLED  # idempotent
    with pytest.raises(grpc.RpcError) as info:
        api.get("j-does-not-exist")
    assert info.value.code() is grpc.StatusCode.NOT_FOUND


def test_client_request_id_makes_submission_idempotent(api_service: Service) -> None:
    with SkybatchClient(api_service.address) as c:
        [(first, created1)] = c.submit([spec(client_request_id="req-1")])
        [(again, created2)] = c.submit([spec(client_request_id="req-1", name="other")])
        assert created1 and not created2 and again.id == first.id
        assert again.spec.name == first.spec.name
        assert len(c.list_all()) == 1
    # The same request id from another tenant is another job.
    with SkybatchClient(api_service.address, tenant="team-b") as b:
        [(theirs, created3)] = b.submit([spec(client_request_id="req-1")])
        assert created3 and theirs.id != first.id and theirs.tenant == "team-b"


def test_tenants_see_only_their_jobs(api_service: Service) -> None:
    with (
        SkybatchClient(api_service.address, tenant="alpha") as a,
        SkybatchClient(api_service.address, tenant="beta") as b,
    ):
        [(job, _)] = a.submit([spec()])
        assert b.list_all() == []
        for call in (b.get, b.cancel):
            with pytest.raises(grpc.RpcError) as info:
                call(job.id)
            assert info.value.code() is grpc.StatusCode.NOT_FOUND
        assert a.get(job.id).state is JobState.PENDING


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"resources": Resources(vcpus=-1, memory_gib=1)}, "spec.resources.vcpus"),
        ({"resources": Resources(vcpus=1, memory_gib=float("nan"))}, "spec.resources.memory_gib"),
        ({"deadline": utcnow() - timedelta(minutes=1)}, "spec.deadline"),
        ({"allowed_regions": ("mars-north1",)}, "spec.allowed_regions"),
        ({"allowed_clouds": ("nimbus",)}, "spec.allowed_clouds"),
        ({"command": ()}, "spec.command"),
        ({"estimated_runtime": timedelta(hours=3)}, "spec.deadline"),
        ({"estimated_runtime": timedelta(0)}, "spec.estimated_runtime"),
        ({"resources": Resources(vcpus=512, memory_gib=1)}, "spec.resources"),
        ({"env": {"SKYBATCH_JOB_ID": "x"}}, "spec.env"),
        ({"labels": {"bad key!": "x"}}, "spec.labels"),
    ],
)
def test_invalid_spec_is_refused_naming_the_field(
    api: SkybatchClient, change: dict[str, object], field: str
) -> None:
    details = invalid(api, [spec(**change)])
    assert details.startswith(field), details
    assert api.list_all() == []


def test_batch_is_all_or_nothing(api: SkybatchClient) -> None:
    details = invalid(api, [spec(), spec(command=()), spec()])
    assert details.startswith("specs[1].command"), details
    assert api.list_all() == []
    results = api.submit([spec(), spec(), spec()])
    assert len({j.id for j, _ in results}) == 3


def test_empty_batch_is_refused(api_service: Service) -> None:
    with grpc.insecure_channel(api_service.address) as ch:
        stub = jobs_pb2_grpc.JobServiceStub(ch)
        with pytest.raises(grpc.RpcError) as info:
            stub.SubmitJobs(jobs_pb2.SubmitJobsRequest(), timeout=5)
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert str(info.value.details()).startswith("specs")
        with pytest.raises(grpc.RpcError) as info:
            stub.SubmitJob(jobs_pb2.SubmitJobRequest(), timeout=5)
        assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert str(info.value.details()).startswith("spec.deadline")


def test_list_filters_and_pages(api: SkybatchClient) -> None:
    ids = [j.id for j, _ in api.submit([spec(labels={"team": t}) for t in "aabab"])]
    api.cancel(ids[0])
    page1, token = api.list_page(page_size=2)
    page2, token2 = api.list_page(page_size=2, page_token=token)
    page3, token3 = api.list_page(page_size=2, page_token=token2)
    assert [j.id for j in page1 + page2 + page3] == ids and token3 == ""
    team_b = api.list_all(labels={"team": "b"})
    assert [j.id for j in team_b] == [ids[2], ids[4]]
    pending_a = api.list_all(states=[JobState.PENDING], labels={"team": "a"})
    assert [j.id for j in pending_a] == [ids[1], ids[3]]
    with pytest.raises(grpc.RpcError) as info:
        api.list_page(page_token="garbage")
    assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT


def test_watch_streams_events_and_resumes_from_a_cursor(api: SkybatchClient) -> None:
    seen: list[JobEvent] = []
    done = threading.Event()

    def consume() -> None:
        for e in api.watch():
            seen.append(e)
            if len(seen) == 3:
                done.set()
                return

    t = threading.Thread(target=consume, daemon=True)
    t.start()
    [(a, _)] = api.submit([spec()])
    [(b, _)] = api.submit([spec()])
    api.cancel(a.id)
    assert done.wait(10)
    assert [(e.job_id, e.to_state) for e in seen] == [
        (a.id, JobState.PENDING),
        (b.id, JobState.PENDING),
        (a.id, JobState.CANCELLED),
    ]
    resumed = next(iter(api.watch(cursor=str(seen[0].seq))))
    assert resumed.seq == seen[1].seq and resumed.job_id == b.id
    only_a = next(iter(api.watch(job_ids=[a.id], cursor=str(seen[0].seq))))
    assert only_a.to_state is JobState.CANCELLED


def test_health_and_reflection(api_service: Service) -> None:
    with grpc.insecure_channel(api_service.address) as ch:
        health = health_pb2_grpc.HealthStub(ch)
        for name in ("", "skybatch.v1.JobService", "skybatch.v1.WorkerService"):
            r = health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            assert r.status == health_pb2.HealthCheckResponse.SERVING
        refl = reflection_pb2_grpc.ServerReflectionStub(ch)
        [resp] = list(
            refl.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
            )
        )
        names = {s.name for s in resp.list_services_response.service}
        assert {"skybatch.v1.JobService", "skybatch.v1.WorkerService"} <= names


def test_worker_calls_need_the_attempt_token(api_service: Service) -> None:
    with grpc.insecure_channel(api_service.address) as ch:
        stub = worker_pb2_grpc.WorkerServiceStub(ch)
        with pytest.raises(grpc.RpcError) as info:
            stub.Heartbeat(
                worker_pb2.HeartbeatRequest(attempt_id="a-nope", progress=0.5),
                metadata=(("x-skybatch-attempt-token", "forged"),),
                timeout=5,
            )
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
