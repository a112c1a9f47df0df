"""Requests that do not parse get INVALID_ARGUMENT, not INTERNAL.

gRPC's Python server answers a request its deserializer cannot parse with INTERNAL
("Exception deserializing request!") and logs an error: a client's garbage would look
like our bug. This server interceptor wraps each handler's deserializer so that a
parse failure becomes a marker, and the handler's behaviour answers the marker with
INVALID_ARGUMENT naming the method, before any other code sees it.

Install it before any interceptor that would read a request: the handler it returns
is then the outermost, so nothing downstream sees an unparsed request.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import grpc

from scheduler.errors import InvalidArgument

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
    _Interceptor = grpc.ServerInterceptor[Any, Any]
else:  # the stubs' generics are not subscriptable at run time
    _Interceptor = grpc.ServerInterceptor


class _Unparsed:
    """What the wrapped deserializer returns for bytes that are not the request."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


class MalformedRequests(_Interceptor):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        #: method -> (the handler we were given, our wrapper of it): handlers are
        #: looked up per call, wrapping once per method keeps the cost to a dict get.
        self._wrapped: dict[str, tuple[Handler, Handler]] = {}

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = continuation(handler_call_details)
        if handler is None or handler.request_deserializer is None:
            return handler
        method: str = handler_call_details.method
        cached = self._wrapped.get(method)
        if cached is not None and cached[0] is handler:
            return cached[1]
        wrapped = _wrap(handler, method)
        with self._lock:
            self._wrapped[method] = (handler, wrapped)
        return wrapped


def _wrap(handler: Handler, method: str) -> Handler:
    parse = handler.request_deserializer
    assert parse is not None

    def deserialize(data: bytes) -> Any:
        try:
            return parse(data)
        except Exception as exc:  # DecodeError, or whatever else the parser raises
            return _Unparsed(f"{type(exc).__name__}: {exc}"[:200])

    kwargs: dict[str, Any] = {
        "request_deserializer": deserialize,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(_single(handler.unary_unary, method), **kwargs)
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(_single(handler.unary_stream, method), **kwargs)
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(_stream(handler.stream_unary, method), **kwargs)
    assert handler.stream_stream is not None
    return grpc.stream_stream_rpc_method_handler(_stream(handler.stream_stream, method), **kwargs)


def _problem(method: str, bad: _Unparsed) -> str:
    return f"not a valid request message for {method} ({bad.reason})"


def _single(behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
    def run(request: Any, context: grpc.ServicerContext) -> Any:
        if isinstance(request, _Unparsed):
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"request: {_problem(method, request)}")
        return behavior(request, context)

    return run


def _stream(behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
    """For a request stream the bad message surfaces where the handler reads it, as
    :class:`InvalidArgument` (our handlers map it to INVALID_ARGUMENT)."""

    def checked(requests: Iterator[Any]) -> Iterator[Any]:
        for i, request in enumerate(requests):
            if isinstance(request, _Unparsed):
                raise InvalidArgument(f"request[{i}]", _problem(method, request))
            yield request

    def run(requests: Iterator[Any], context: grpc.ServicerContext) -> Any:
        return behavior(checked(requests), context)

    return run
