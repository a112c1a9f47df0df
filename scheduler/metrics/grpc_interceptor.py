"""A server interceptor that counts gRPC requests by status code and times unary ones."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc

from scheduler.metrics.service_metrics import ServiceMetrics

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
    _Interceptor = grpc.ServerInterceptor[Any, Any]
else:  # the stubs' generics are not subscriptable at run time
    _Interceptor = grpc.ServerInterceptor


def _code(context: grpc.ServicerContext, failed: bool) -> str:
    # ``code()`` is set by ``abort``/``set_code``; None means the handler left it alone.
    code = context.code()  # type: ignore[attr-defined]
    if code is None:
        return "UNKNOWN" if failed else "OK"
    return str(code.name)


class GrpcMetricsInterceptor(_Interceptor):
    def __init__(self, metrics: ServiceMetrics) -> None:
        self.metrics = metrics

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = continuation(handler_call_details)
        if handler is None:
            return None
        service, _, method = handler_call_details.method.lstrip("/").rpartition("/")
        if handler.unary_unary is not None:
            return grpc.unary_unary_rpc_method_handler(
                self._unary(handler.unary_unary, service, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        if handler.unary_stream is not None:
            return grpc.unary_stream_rpc_method_handler(
                self._stream(handler.unary_stream, service, method),
                request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )
        return handler  # client streaming: we have none; pass through uncounted

    def _unary(
        self, behavior: Callable[[Any, grpc.ServicerContext], Any], service: str, method: str
    ) -> Callable[[Any, grpc.ServicerContext], Any]:
        requests, duration = self.metrics.rpc_requests, self.metrics.rpc_duration

        def handle(request: Any, context: grpc.ServicerContext) -> Any:
            started = time.perf_counter()
            failed = True
            try:
                response = behavior(request, context)
                failed = False
                return response
            finally:
                duration.labels(service, method).observe(time.perf_counter() - started)
                requests.labels(service, method, _code(context, failed)).inc()

        return handle

    def _stream(
        self,
        behavior: Callable[[Any, grpc.ServicerContext], Iterator[Any]],
        service: str,
        method: str,
    ) -> Callable[[Any, grpc.ServicerContext], Iterator[Any]]:
        requests = self.metrics.rpc_requests

        def handle(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
            code = "UNKNOWN"
            try:
                yield from behavior(request, context)
                code = _code(context, failed=False)
            except GeneratorExit:
                code = "CANCELLED"  # the client went away mid-stream
                raise
            except Exception:
                code = _code(context, failed=True)
                raise
            finally:
                requests.labels(service, method, code).inc()

        return handle
