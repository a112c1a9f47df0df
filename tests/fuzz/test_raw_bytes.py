"""Every RPC of every service, sent raw random bytes as its serialized request.

Bytes that do not parse as the request message must be refused with a status (the
parser's), never crash the server; bytes that happen to parse are a request like any
other. One real server (control loop on) serves the module; afterwards it answers
health checks and every stored job re-validates. Examples per RPC and the long run:
see ``tests/fuzz/test_typed_messages.py``.
"""

from __future__ import annotations

import grpc
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz.calls import call, check_status, fuzz_settings
from tests.fuzz.conftest import FuzzServer, assert_serving
from tests.fuzz.descriptors import Rpc, rpcs
from tests.fuzz.invariants import assert_no_errors_logged, assert_store_valid

payloads = st.one_of(
    st.binary(max_size=256),
    # Truncated or corrupted encodings of plausible messages: tag, wire type, length.
    st.lists(st.integers(0, 255), max_size=64).map(bytes),
    st.sampled_from(
        [
            b"",
            b"\x00",
            b"\xff" * 16,
            b"\x0a\xff\xff\xff\xff\x0f",  # field 1, length 2^32-1
            b"\x0a\x05abc",  # field 1, length 5, 3 bytes
            b"\x0a\x02\xc3\x28",  # field 1, invalid UTF-8
            b"\x08" + b"\xff" * 10 + b"\x01",  # an over-long varint
            b"\x12\x80\x80\x80\x80\x08",  # a negative length
            b"\x0b\x0c",  # a group (proto2 only)
            b"\x0a" * 100_000,
            b"\x00" * (1024 * 1024),
        ]
    ),
)


@pytest.mark.parametrize("rpc", rpcs(), ids=str)
def test_raw_bytes(rpc: Rpc, fuzz_server: FuzzServer, fuzz_channel: grpc.Channel) -> None:
    requests = st.lists(payloads, min_size=1, max_size=4) if rpc.client_streaming else payloads

    @fuzz_settings
    @given(request=requests)
    def run(request: bytes | list[bytes]) -> None:
        code, details = call(fuzz_channel, rpc, request, raw=True)
        check_status(rpc, code, details)

    run()
    assert_serving(fuzz_channel)


def test_store_holds_only_valid_jobs(fuzz_server: FuzzServer, fuzz_channel: grpc.Channel) -> None:
    assert_serving(fuzz_channel)
    assert_store_valid(fuzz_server)
    assert_no_errors_logged(fuzz_server)
