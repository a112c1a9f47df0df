"""The gRPC server: job, worker, admin and report services, health checking and reflection."""

from __future__ import annotations

from concurrent import futures

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
from scheduler.api.worker_service import WorkerService
from scheduler.errors import SkybatchError

MAX_MESSAGE_BYTES = 16 * 1024 * 1024


class BindError(SkybatchError):
    """The gRPC server cannot listen on the requested address."""


class GrpcServer:
    """Owns the ``grpc.Server``; ``port`` is the bound one (useful with port 0)."""

    def __init__(
        self,
        bind: str,
        jobs: JobService,
        workers: WorkerService,
        admin: AdminService | None = None,
        reports: ReportService | None = None,
        max_workers: int = 64,
    ) -> None:
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
            options=[
                ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
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
        try:
            self.port = self.server.add_insecure_port(bind)
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            raise BindError(f"cannot listen on {bind}: is another server using the port?")
        host = bind.rsplit(":", 1)[0]
        self.address = f"{host}:{self.port}"

    def start(self) -> None:
        self.server.start()
        for name in ("", *self._names):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace_s: float) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace_s).wait()
