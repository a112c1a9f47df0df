"""Errors -> gRPC status codes, in one place; and who is calling (principal or metadata)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from typing import Any, NoReturn, TypeVar

import grpc

from scheduler.api.principal import current_principal
from scheduler.domain import DEFAULT_TENANT
from scheduler.errors import Conflict, InvalidArgument, NotFound, PermissionDenied, Unauthenticated

log = logging.getLogger(__name__)

TENANT_METADATA_KEY = "x-skybatch-tenant"
F = TypeVar("F", bound=Callable[..., Any])

_CODES: list[tuple[type[Exception], grpc.StatusCode]] = [
    (InvalidArgument, grpc.StatusCode.INVALID_ARGUMENT),
    (NotFound, grpc.StatusCode.NOT_FOUND),
    (Unauthenticated, grpc.StatusCode.UNAUTHENTICATED),
    (PermissionDenied, grpc.StatusCode.PERMISSION_DENIED),
    (Conflict, grpc.StatusCode.FAILED_PRECONDITION),
]


def metadata(context: grpc.ServicerContext, key: str) -> str:
    for k, v in context.invocation_metadata() or ():
        if k == key:
            return v if isinstance(v, str) else v.decode()
    return ""


def tenant_of(context: grpc.ServicerContext) -> str:
    """The caller's tenant: its token's when it authenticated with one (any header is
    ignored then), else ``x-skybatch-tenant`` (``--auth none``)."""
    principal = current_principal()
    if principal is not None:
        return principal.tenant
    tenant = metadata(context, TENANT_METADATA_KEY).strip() or DEFAULT_TENANT
    if len(tenant) > 64 or not tenant.replace("-", "").replace("_", "").isalnum():
        raise InvalidArgument("metadata.x-skybatch-tenant", "1-64 of [A-Za-z0-9_-]")
    return tenant


def _abort(context: grpc.ServicerContext, exc: Exception) -> NoReturn:
    for kind, code in _CODES:
        if isinstance(exc, kind):
            context.abort(code, str(exc))
    if isinstance(exc, grpc.RpcError):
        # Reading a client stream failed: the client cancelled, or its message broke a
        # limit. Not our bug; the call is over either way.
        log.debug("client stream ended: %s", exc)
        context.abort(grpc.StatusCode.CANCELLED, "the client's stream ended")
    log.exception("internal error")
    context.abort(grpc.StatusCode.INTERNAL, f"internal error: {type(exc).__name__}")


def unary(fn: F) -> F:
    """Map our errors to statuses for a unary handler ``fn(self, request, context)``."""

    @functools.wraps(fn)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Any:
        try:
            return fn(self, request, context)
        except Exception as exc:
            _abort(context, exc)

    return wrapper  # type: ignore[return-value]


def streaming(fn: F) -> F:
    """The same for a server-streaming handler."""

    @functools.wraps(fn)
    def wrapper(self: Any, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        try:
            yield from fn(self, request, context)
        except Exception as exc:
            _abort(context, exc)

    return wrapper  # type: ignore[return-value]
