"""A stand-in gRPC server for while the store is unreachable at startup.

``skybatch serve`` cannot open its store (schema checks, the shared secret) before
the database answers, but orchestrators and load balancers should see the port and
an honest NOT_SERVING meanwhile. This server answers health checks; every other
method gets UNAVAILABLE (clients retry that); once the store answers it is stopped
and the real server binds the same port.
"""

from __future__ import annotations

from concurrent import futures
from typing import TYPE_CHECKING, Any, NoReturn

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from scheduler.api.server import bind_port

if TYPE_CHECKING:
    _Generic = grpc.GenericRpcHandler[Any, Any]
    _Handler = grpc.RpcMethodHandler[Any, Any]
else:  # the stubs' generics are not subscriptable at run time
    _Generic = grpc.GenericRpcHandler


def _unavailable(_request: Any, context: grpc.ServicerContext) -> NoReturn:
    context.abort(grpc.StatusCode.UNAVAILABLE, "the store is unreachable; retry later")


class _Unavailable(_Generic):
    """Every method the health servicer does not know: UNAVAILABLE."""

    def service(self, handler_call_details: grpc.HandlerCallDetails) -> _Handler | None:
        return grpc.unary_unary_rpc_method_handler(_unavailable)


class StandbyServer:
    def __init__(self, bind: str, credentials: grpc.ServerCredentials | None = None) -> None:
        """``credentials``: the real server's TLS, so the port never speaks plaintext."""
        self.server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="standby"),
            options=[("grpc.so_reuseport", 0)],
        )
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        # Generic handlers are consulted after the registered services.
        self.server.add_generic_rpc_handlers((_Unavailable(),))
        port = bind_port(self.server, bind, credentials)
        self.address = f"{bind.rsplit(':', 1)[0]}:{port}"

    def start(self) -> None:
        self.health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)
        self.server.start()

    def stop(self) -> None:
        self.server.stop(0).wait()
