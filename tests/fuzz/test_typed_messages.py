"""Every RPC of every service, fuzzed with well-typed messages built from the descriptors.

One real server (control loop on, SQLite, the local cloud) serves the whole module.
Each call must end with a deliberate status, never INTERNAL or UNKNOWN; afterwards
the server answers health checks, every stored job re-validates, and the control
loop, having planned the fuzzed jobs that got in, is still ticking without errors.

Examples per RPC default to 25 (the whole fuzz suite runs in a minute or two). For a
long run::

    SKYBATCH_FUZZ_EXAMPLES=2000 SKYBATCH_FUZZ_RANDOM=1 \\
        .venv/bin/python -m pytest tests/fuzz --timeout=0

``SKYBATCH_FUZZ_RANDOM=1`` draws new examples on every run instead of the same
derandomized ones.
"""

from __future__ import annotations

import time
from typing import Any

import grpc
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from hypothesis import given
from hypothesis import strategies as st

from scheduler.tokens import TOKEN_METADATA_KEY, attempt_token
from tests.fuzz.calls import call, check_status, fuzz_settings
from tests.fuzz.conftest import FuzzServer, assert_serving
from tests.fuzz.descriptors import Rpc, rpcs, services
from tests.fuzz.invariants import assert_loop_planning, assert_store_valid, stored_jobs
from tests.fuzz.strategies import message


def test_every_service_the_server_offers_is_fuzzed(fuzz_channel: grpc.Channel) -> None:
    stub = reflection_pb2_grpc.ServerReflectionStub(fuzz_channel)
    [reply] = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    offered = {s.name for s in reply.list_services_response.service}
    ours = {s.full_name for s in services()}
    assert {"skybatch.v1.JobService", "skybatch.v1.WorkerService"} <= ours
    assert {n for n in offered if n.startswith("skybatch.")} == ours


@pytest.mark.parametrize("rpc", rpcs(), ids=str)
def test_typed_messages(rpc: Rpc, fuzz_server: FuzzServer, fuzz_channel: grpc.Channel) -> None:
    one = message(rpc.method.input_type)
    requests = st.lists(one, min_size=1, max_size=4) if rpc.client_streaming else one

    @fuzz_settings
    @given(request=requests)
    def run(request: object) -> None:
        code, details = call(fuzz_channel, rpc, request, raw=False)
        check_status(rpc, code, details)

    run()
    assert_serving(fuzz_channel)


WORKER_RPCS = [r for r in rpcs() if r.method.containing_service.name == "WorkerService"]


def attempt_ids(server: FuzzServer, timeout_s: float = 60) -> list[str]:
    """Attempts of the fuzzed jobs that got in and were launched."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ids = [a.id for j in stored_jobs(server.service.jobs) for a in j.attempts]
        if ids:
            return ids
        time.sleep(0.5)
    raise AssertionError("no fuzzed job was launched")


@pytest.mark.parametrize("rpc", WORKER_RPCS, ids=str)
def test_worker_rpcs_with_real_attempt_tokens(
    rpc: Rpc, fuzz_server: FuzzServer, fuzz_channel: grpc.Channel
) -> None:
    """A hostile worker agent: the right token for a real attempt, anything else random."""
    secret = fuzz_server.service.attempts.secret("attempt-token-hmac")
    ids = attempt_ids(fuzz_server)

    @fuzz_settings
    @given(request=message(rpc.method.input_type), attempt_id=st.sampled_from(ids))
    def run(request: Any, attempt_id: str) -> None:
        request.attempt_id = attempt_id
        token = ((TOKEN_METADATA_KEY, attempt_token(secret, attempt_id)),)
        code, details = call(fuzz_channel, rpc, request, raw=False, metadata=token)
        check_status(rpc, code, details)
        assert code is not grpc.StatusCode.UNAUTHENTICATED, details

    run()
    assert_serving(fuzz_channel)


def test_store_holds_only_valid_jobs(fuzz_server: FuzzServer, fuzz_channel: grpc.Channel) -> None:
    assert_serving(fuzz_channel)
    assert assert_store_valid(fuzz_server) > 0, "no fuzzed job passed validation"
    assert_loop_planning(fuzz_server)
