"""One real server per fuzz module: the gRPC API with the control loop on (fuzzed jobs
that pass validation are planned and run on the local cloud) and a real SQLite store."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from libcloud.compute.types import NodeState

from scheduler.service import Service
from tests.conftest import serve_config


@dataclass
class ErrorLog(logging.Handler):
    """Errors the server logged (a failed control-loop tick, an internal error)."""

    records: list[logging.LogRecord] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(logging.ERROR)

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def __hash__(self) -> int:
        return id(self)


@dataclass
class FuzzServer:
    service: Service
    errors: ErrorLog


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FuzzServer]:
    # A small quota: the jobs that do pass validation run a few at a time on 2 cores.
    svc = Service(serve_config(tmp_path_factory.mktemp("fuzz"), local_vcpu_quota=4.0))
    errors = ErrorLog()
    logger = logging.getLogger("scheduler")
    logger.addHandler(errors)
    svc.start(control_loop=True)
    try:
        yield FuzzServer(svc, errors)
    finally:
        logger.removeHandler(errors)
        svc.stop(grace_s=0.5)
        for node in svc.driver.list_nodes():
            if node.state != NodeState.TERMINATED:
                svc.driver.destroy_node(node)


@pytest.fixture(scope="module")
def fuzz_channel(fuzz_server: FuzzServer) -> Iterator[grpc.Channel]:
    # The client may send what the server refuses: let the server be the one to say so.
    options = [("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)]
    with grpc.insecure_channel(fuzz_server.service.address, options=options) as ch:
        grpc.channel_ready_future(ch).result(timeout=10)
        yield ch


def assert_serving(channel: grpc.Channel) -> None:
    """The server is alive and says so."""
    stub = health_pb2_grpc.HealthStub(channel)
    reply = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
