"""Prometheus metrics of ``skybatch serve``: what the store says, what the control loop
measured, what the gRPC server answered; served over HTTP with ``/healthz``.

Every metric lives in a registry of the service's own (never the process-global
default one), so several services in one process (tests) never collide.
"""

from scheduler.metrics.grpc_interceptor import GrpcMetricsInterceptor
from scheduler.metrics.http_endpoint import MetricsBindError, MetricsEndpoint
from scheduler.metrics.service_metrics import ServiceMetrics
from scheduler.metrics.store_collector import StoreCollector

__all__ = [
    "GrpcMetricsInterceptor",
    "MetricsBindError",
    "MetricsEndpoint",
    "ServiceMetrics",
    "StoreCollector",
]
