"""The Python client retries with backoff while the server is unavailable: against a
real server that comes up a second after the client starts calling, and against a
port where nothing ever listens."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from scheduler.api.client import SkybatchClient
from scheduler.api.client_errors import InvalidRequest, NotFoundError, RpcFailed, Unavailable
from scheduler.api.retry import NO_RETRIES, RetryPolicy
from scheduler.domain import JobSpec, JobState, Resources, utcnow
from scheduler.errors import SkybatchError
from scheduler.service import Service
from tests.conftest import serve_config


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def spec(name: str = "retried") -> JobSpec:
    return JobSpec(
        name=name,
        command=("python", "-c", "pass"),
        estimated_runtime=timedelta(seconds=30),
        deadline=utcnow() + timedelta(hours=1),
        resources=Resources(vcpus=1, memory_gib=1),
    )


@pytest.fixture
def late_service(tmp_path: Path) -> Iterator[tuple[str, threading.Event, list[Service]]]:
    """A server that starts one second after the fixture returns, on a known port."""
    address = f"127.0.0.1:{free_port()}"
    started = threading.Event()
    services: list[Service] = []

    def start() -> None:
        time.sleep(1.0)
        svc = Service(serve_config(tmp_path, bind=address))
        services.append(svc)
        svc.start(control_loop=False)
        started.set()

    thread = threading.Thread(target=start, name="late-server")
    thread.start()
    yield address, started, services
    thread.join()
    for svc in services:
        svc.stop(grace_s=0.5)


def test_a_submit_succeeds_once_the_server_comes_up_and_creates_one_job(
    late_service: tuple[str, threading.Event, list[Service]],
) -> None:
    address, started, _ = late_service
    policy = RetryPolicy(attempts=10, initial_backoff_s=0.2, max_backoff_s=1.0)
    with SkybatchClient(address, retry=policy, timeout_s=10) as c:
        t0 = time.monotonic()
        [(job, created)] = c.submit([spec()])
        elapsed = time.monotonic() - t0
        assert started.is_set(), "the call returned before the server was up"
        assert elapsed >= 1.0
        assert created and job.state is JobState.PENDING
        # The client gave the job a request id: the same submission again, as a retry
        # after a lost reply would send it, returns the same job.
        assert job.spec.client_request_id.startswith("py-")
        [(again, created_again)] = c.submit([job.spec])
        assert again.id == job.id and not created_again
        assert [j.id for j in c.list_all()] == [job.id]


def test_a_server_that_stays_down_fails_with_unavailable_after_the_attempts() -> None:
    policy = RetryPolicy(attempts=4, initial_backoff_s=0.2, max_backoff_s=0.8, grpc_attempts=2)
    with SkybatchClient(f"127.0.0.1:{free_port()}", retry=policy, timeout_s=5) as c:
        t0 = time.monotonic()
        with pytest.raises(Unavailable) as info:
            c.get("j-0000000000000000")
        elapsed = time.monotonic() - t0
    err = info.value
    assert err.attempts == 4 and err.method == "GetJob"
    assert err.code() is grpc.StatusCode.UNAVAILABLE
    # Still what plain-gRPC code catches, and one of ours.
    assert isinstance(err, grpc.RpcError) and isinstance(err, SkybatchError)
    # Sleeps of 0.2, 0.4 and 0.8 s, each jittered to 50-100%, plus gRPC's own.
    assert policy.min_wait_s() == pytest.approx(0.7)
    assert policy.min_wait_s() <= elapsed <= policy.max_wait_s() + 2.0, elapsed


def test_without_retries_the_first_failure_is_raised(tmp_path: Path) -> None:
    with SkybatchClient(f"127.0.0.1:{free_port()}", retry=NO_RETRIES, timeout_s=5) as c:
        t0 = time.monotonic()
        with pytest.raises(Unavailable) as info:
            c.list_page()
        assert info.value.attempts == 1
        assert time.monotonic() - t0 < 3.0


def test_errors_map_to_our_types_and_are_not_retried(api_service: Service) -> None:
    with SkybatchClient(api_service.address) as c:
        with pytest.raises(NotFoundError) as missing:
            c.get("j-does-not-exist")
        assert missing.value.attempts == 1
        assert missing.value.code() is grpc.StatusCode.NOT_FOUND
        with pytest.raises(InvalidRequest) as bad:
            c.submit([spec(name="bad name!")])
        assert bad.value.field == "spec.name"
        assert "letters, digits" in bad.value.problem
        with pytest.raises(RpcFailed):
            c.list_page(page_size=-1)
        assert c.list_all() == []
