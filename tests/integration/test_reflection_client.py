"""A generic client with no generated code: ``grpc_requests`` learns the services and
message types from the server's reflection service (into a descriptor pool of its own,
empty at the start) and speaks plain dicts."""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from google.protobuf import descriptor_pool
from grpc_requests import Client

from scheduler.service import Service

JOBS = "skybatch.v1.JobService"


def reflection_client(address: str) -> Client:
    # A fresh pool: everything the client knows comes over the wire.
    return Client(address, descriptor_pool=descriptor_pool.DescriptorPool())


def spec(name: str) -> dict[str, Any]:
    deadline = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
    return {
        "name": name,
        "command": ["python", "-c", "print('reflected')"],
        "estimated_runtime": "30s",
        "deadline": deadline,
        "resources": {"vcpus": 1, "memory_gib": 2},
        "labels": {"via": "reflection"},
    }


def test_reflection_client_lists_submits_gets_lists_and_cancels(api_service: Service) -> None:
    client = reflection_client(api_service.address)
    services = set(client.service_names)
    assert {JOBS, "skybatch.v1.WorkerService", "grpc.health.v1.Health"} <= services
    methods = set(client.get_methods_meta(JOBS))
    assert {"SubmitJob", "SubmitJobs", "GetJob", "ListJobs", "CancelJob", "WatchJobs"} <= methods

    submitted = client.request(JOBS, "SubmitJob", {"spec": spec("reflected")})
    job = submitted["job"]
    assert submitted["created"] is True
    assert job["state"] == "JOB_STATE_PENDING" and job["id"].startswith("j-")
    assert job["spec"]["labels"] == {"via": "reflection"}

    got = client.request(JOBS, "GetJob", {"job_id": job["id"]})
    assert got["id"] == job["id"] and got["spec"]["name"] == "reflected"
    assert got["spec"]["command"] == ["python", "-c", "print('reflected')"]
    assert got["spec"]["estimated_runtime"] == "30s"

    client.request(JOBS, "SubmitJobs", {"specs": [spec("second"), spec("third")]})
    listed = client.request(JOBS, "ListJobs", {"labels": {"via": "reflection"}})
    assert [j["spec"]["name"] for j in listed["jobs"]] == ["reflected", "second", "third"]
    pending = client.request(JOBS, "ListJobs", {"states": ["JOB_STATE_PENDING"], "page_size": 2})
    assert len(pending["jobs"]) == 2 and pending["next_page_token"]

    cancelled = client.request(JOBS, "CancelJob", {"job_id": job["id"], "reason": "reflected"})
    assert cancelled["job"]["state"] == "JOB_STATE_CANCELLED"
    after = client.request(JOBS, "ListJobs", {"states": ["JOB_STATE_CANCELLED"]})
    assert [j["id"] for j in after["jobs"]] == [job["id"]]


def test_reflection_client_gets_the_servers_errors(api_service: Service) -> None:
    client = reflection_client(api_service.address)
    with pytest.raises(grpc.RpcError) as missing:
        client.request(JOBS, "GetJob", {"job_id": "j-nope"})
    assert missing.value.code() is grpc.StatusCode.NOT_FOUND
    bad = spec("late")
    bad["deadline"] = "1970-01-01T00:00:00Z"
    with pytest.raises(grpc.RpcError) as invalid:
        client.request(JOBS, "SubmitJob", {"spec": bad})
    assert invalid.value.code() is grpc.StatusCode.INVALID_ARGUMENT
    assert invalid.value.details().startswith("spec.deadline")
