"""Calling any RPC generically (typed messages or raw bytes) and judging the status."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from typing import Any

import grpc
from hypothesis import HealthCheck, settings

from tests.fuzz.descriptors import Rpc

#: Examples per RPC; ``SKYBATCH_FUZZ_EXAMPLES=2000`` for a long run (see test modules).
EXAMPLES = int(os.environ.get("SKYBATCH_FUZZ_EXAMPLES", "25"))

fuzz_settings = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=os.environ.get("SKYBATCH_FUZZ_RANDOM", "") == "",
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

#: Statuses a server may answer hostile input with: each says what went wrong.
DELIBERATE = frozenset(
    {
        grpc.StatusCode.OK,
        grpc.StatusCode.INVALID_ARGUMENT,
        grpc.StatusCode.NOT_FOUND,
        grpc.StatusCode.UNAUTHENTICATED,
        grpc.StatusCode.PERMISSION_DENIED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.OUT_OF_RANGE,
    }
)
#: How long a call may take; server streams (WatchJobs) are cut off after this.
TIMEOUT_S = 20.0
STREAM_READ_S = 1.0
STREAM_MESSAGES = 3
#: Above the server's limit (16 MiB), and a guard against strategies gone wild.
MAX_REQUEST_BYTES = 64 * 1024 * 1024


def call(
    channel: grpc.Channel,
    rpc: Rpc,
    request: Any,
    *,
    raw: bool,
    metadata: tuple[tuple[str, str], ...] = (),
) -> tuple[grpc.StatusCode, str]:
    """Send ``request`` (a message, or bytes when ``raw``; a list of them for a client
    stream) and return the status the call ended with and its details.

    A server stream that is still open after a few messages or ``STREAM_READ_S`` is
    alive, not failed: it counts as OK once cancelled by us.
    """
    size = sum(_size(r) for r in request) if rpc.client_streaming else _size(request)
    assert size <= MAX_REQUEST_BYTES, f"the strategy drew a {size}-byte request for {rpc}"
    ser = None if raw else rpc.request_class.SerializeToString
    de = None if raw else rpc.response_class.FromString
    try:
        if rpc.client_streaming:
            requests: Sequence[Any] = request
            if rpc.server_streaming:
                stream = channel.stream_stream(
                    rpc.path, request_serializer=ser, response_deserializer=de
                )(iter(requests), timeout=TIMEOUT_S, metadata=metadata)
                # Read to the end: a client hanging up mid-upload is not what we test.
                return _drain(stream, stream_deadline=False, read_all=True)
            channel.stream_unary(rpc.path, request_serializer=ser, response_deserializer=de)(
                iter(requests), timeout=TIMEOUT_S
            )
            return grpc.StatusCode.OK, ""
        if rpc.server_streaming:
            stream = channel.unary_stream(
                rpc.path, request_serializer=ser, response_deserializer=de
            )(request, timeout=STREAM_READ_S, metadata=metadata)
            return _drain(stream, stream_deadline=True)
        channel.unary_unary(rpc.path, request_serializer=ser, response_deserializer=de)(
            request, timeout=TIMEOUT_S, metadata=metadata
        )
        return grpc.StatusCode.OK, ""
    except grpc.RpcError as exc:
        return exc.code(), str(exc.details())


def _size(request: Any) -> int:
    return len(request) if isinstance(request, bytes) else int(request.ByteSize())


def _drain(
    stream: Any, *, stream_deadline: bool, read_all: bool = False
) -> tuple[grpc.StatusCode, str]:
    it: Iterator[Any] = stream
    try:
        for n, _ in enumerate(it, start=1):
            if n >= STREAM_MESSAGES and not read_all:
                stream.cancel()
                return grpc.StatusCode.OK, "cancelled by the test while streaming"
    except grpc.RpcError as exc:
        if stream_deadline and exc.code() is grpc.StatusCode.DEADLINE_EXCEEDED:
            return grpc.StatusCode.OK, "still streaming at the test's deadline"
        return exc.code(), str(exc.details())
    return grpc.StatusCode.OK, ""


def check_status(rpc: Rpc, code: grpc.StatusCode, details: str) -> None:
    assert code in DELIBERATE, f"{rpc} answered {code.name}: {details[:500]}"
