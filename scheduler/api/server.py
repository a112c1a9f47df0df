"""The gRPC server: job, worker, admin and report services, health checking and reflection."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from scheduler.api.admin_service import AdminService
from scheduler.api.gen.skybatch.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    jobs_pb2,
    jobs_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
)
from scheduler.api.job_service import JobService
from scheduler.api.report_service import ReportService
from scheduler.api.watch_hub import MAX_STREAMS
from scheduler.api.worker_service import WorkerService
from scheduler.errors import SkybatchError

MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: Threads serving RPCs. An open ``WatchJobs`` stream holds one for its lifetime (the
#: synchronous server), so there is one per stream the watch hub admits plus 64 for
#: everything else; threads start only when used.
DEFAULT_MAX_WORKERS = 64 + MAX_STREAMS
#: RPCs running or queued for a thread; more are refused with RESOURCE_EXHAUSTED.
MAX_CONCURRENT_RPCS = 4 * DEFAULT_MAX_WORKERS
#: Largest request accepted (``--max-message-bytes``); bigger is RESOURCE_EXHAUSTED.
DEFAULT_MAX_REQUEST_BYTES = 4 * 1024 * 1024


class BindError(SkybatchError):
    """The gRPC server cannot listen on the requested address."""


def bind_port(server: grpc.Server, bind: str, credentials: grpc.ServerCredentials | None) -> int:
    """Listen on ``bind`` (TLS with ``credentials``); the bound port (useful with port 0),
    or :class:`BindError`."""
    try:
        port = (
            server.add_secure_port(bind, credentials)
            if credentials is not None
            else server.add_insecure_port(bind)
        )
    except RuntimeError:
        port = 0
    if port == 0:
        raise BindError(f"cannot listen on {bind}: is another server using the port?")
    return port


class GrpcServer:
    """Owns the ``grpc.Server``; ``port`` is the bound one (useful with port 0)."""

    def __init__(
        self,
        bind: str,
        jobs: JobService,
        workers: WorkerService,
        admin: AdminService | None = None,
        reports: ReportService | None = None,
        max_workers: int = DEFAULT_MAX_WORKERS,
        interceptors: Sequence[grpc.ServerInterceptor[Any, Any]] = (),
        credentials: grpc.ServerCredentials | None = None,
        max_request_bytes: int = DEFAULT_MAX_REQUEST_BYTES,
    ) -> None:
        """``credentials``: TLS (``ServerTLS.credentials()``); None serves plaintext."""
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
            maximum_concurrent_rpcs=max(MAX_CONCURRENT_RPCS, max_workers),
            # Run in order, the first outermost (metrics, then auth, ...).
            interceptors=list(interceptors),
            options=[
                ("grpc.max_receive_message_length", max_request_bytes),
                ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
                ("grpc.so_reuseport", 0),
            ],
        )
        jobs_pb2_grpc.add_JobServiceServicer_to_server(jobs, self.server)  # type: ignore[no-untyped-call]
        worker_pb2_grpc.add_WorkerServiceServicer_to_server(workers, self.server)  # type: ignore[no-untyped-call]
        services = [
            jobs_pb2.DESCRIPTOR.services_by_name["JobService"].full_name,
            worker_pb2.DESCRIPTOR.services_by_name["WorkerService"].full_name,
        ]
        if admin is not None:
            admin_pb2_grpc.add_AdminServiceServicer_to_server(admin, self.server)  # type: ignore[no-untyped-call]
            services.append(admin_pb2.DESCRIPTOR.services_by_name["AdminService"].full_name)
        if reports is not None:
            reports_pb2_grpc.add_ReportServiceServicer_to_server(reports, self.server)  # type: ignore[no-untyped-call]
            services.append(reports_pb2.DESCRIPTOR.services_by_name["ReportService"].full_name)
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        names = (
            *services,
            health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            reflection.SERVICE_NAME,
        )
        reflection.enable_server_reflection(names, self.server)
        self._names = tuple(services)
        self.port = bind_port(self.server, bind, credentials)
        self.address = f"{bind.rsplit(':', 1)[0]}:{self.port}"

    def start(self, *, serving: bool = True) -> None:
        self.server.start()
        self.set_serving(serving)

    def set_serving(self, serving: bool) -> None:
        """Health of the server and of each service: SERVING, or NOT_SERVING (store down)."""
        status = (
            health_pb2.HealthCheckResponse.SERVING
            if serving
            else health_pb2.HealthCheckResponse.NOT_SERVING
        )
        for name in ("", *self._names):
            self.health.set(name, status)

    def begin_stop(self, grace_s: float) -> threading.Event:
        """Refuse new RPCs now (health NOT_SERVING), cancel those still running after
        ``grace_s``; the event is set once the server has stopped."""
        self.health.enter_graceful_shutdown()
        return self.server.stop(grace_s)

    def stop(self, grace_s: float) -> None:
        self.begin_stop(grace_s).wait()
