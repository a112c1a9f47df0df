"""Who may call what: bearer tokens, the admin role and per-tenant rate limits.

One server interceptor wraps the handlers of the tenant-facing services (JobService,
AdminService, ReportService). The wrapper runs on the handler's thread: it checks the
caller, then runs the handler with the caller's :class:`Principal` in
``scheduler.api.principal.PRINCIPAL`` (for a streaming handler, around each step of
its generator). WorkerService (attempt tokens, checked by the service), health and
reflection are not wrapped.

- ``--auth token``: ``authorization: Bearer sbt_...`` is required; missing or bad is
  UNAUTHENTICATED, a user token on AdminService is PERMISSION_DENIED. The tenant is the
  token's, whatever ``x-skybatch-tenant`` says.
- ``--auth none``: no check; the tenant comes from ``x-skybatch-tenant`` (local dev).

Verified tokens are cached for ``ttl_s`` seconds (by the SHA-256 of the token), so a
revocation takes effect within that time and a call costs one dict lookup.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any

import grpc

from scheduler.api.principal import PRINCIPAL
from scheduler.api.status import TENANT_METADATA_KEY, metadata
from scheduler.domain import DEFAULT_TENANT
from scheduler.tenancy import Principal

if TYPE_CHECKING:
    Handler = grpc.RpcMethodHandler[Any, Any]
    _Interceptor = grpc.ServerInterceptor[Any, Any]
else:  # the stubs' generics are not subscriptable at run time
    _Interceptor = grpc.ServerInterceptor

AUTHORIZATION_KEY = "authorization"
ADMIN_SERVICE = "/skybatch.v1.AdminService/"
TENANT_SERVICES = ("/skybatch.v1.JobService/", ADMIN_SERVICE, "/skybatch.v1.ReportService/")

#: ``(token, now) -> (principal, expires_at)`` or None: ``TenantStore.principal``.
Lookup = Callable[[str, datetime], "tuple[Principal, datetime | None] | None"]


class AuthMode(StrEnum):
    NONE = "none"
    TOKEN = "token"


class TokenVerifier:
    """Bearer token -> principal, through a short cache (bad tokens are cached too, so
    guessing costs no database read per try)."""

    def __init__(
        self,
        lookup: Lookup,
        *,
        clock: Callable[[], datetime],
        ttl_s: float = 5.0,
        max_entries: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._lookup = lookup
        self._clock = clock
        self.ttl_s = ttl_s
        self._max = max_entries
        self._monotonic = monotonic
        self._cache: dict[str, tuple[Principal | None, float]] = {}

    def verify(self, token: str) -> Principal | None:
        key = hashlib.sha256(token.encode()).hexdigest()
        now = self._monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[1] > now:
            return hit[0]
        wall = self._clock()
        found = self._lookup(token, wall)
        until = now + self.ttl_s
        if found is not None and found[1] is not None:
            until = min(until, now + (found[1] - wall).total_seconds())
        if len(self._cache) >= self._max:
            self._cache.clear()
        self._cache[key] = (found[0] if found else None, until)
        return found[0] if found else None


class RateLimiter:
    """A token bucket per tenant: ``rate`` calls/s on average, bursts of ``burst``."""

    def __init__(
        self, rate: float, burst: float, *, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        if not rate > 0 or not burst >= 1:
            raise ValueError("rate must be > 0 and burst >= 1")
        self.rate = rate
        self.burst = burst
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}  # tenant -> (tokens, at)

    def acquire(self, tenant: str) -> float:
        """0.0 when the call may go ahead, else the seconds until it could."""
        now = self._monotonic()
        with self._lock:
            tokens, at = self._buckets.get(tenant, (self.burst, now))
            tokens = min(self.burst, tokens + (now - at) * self.rate)
            if tokens >= 1.0:
                self._buckets[tenant] = (tokens - 1.0, now)
                return 0.0
            self._buckets[tenant] = (tokens, now)
            return (1.0 - tokens) / self.rate


def bearer_token(context: grpc.ServicerContext) -> str:
    value = metadata(context, AUTHORIZATION_KEY).strip()
    scheme, _, token = value.partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


class AuthInterceptor(_Interceptor):
    def __init__(
        self,
        mode: AuthMode,
        *,
        verifier: TokenVerifier | None = None,
        limiter: RateLimiter | None = None,
    ) -> None:
        if mode is AuthMode.TOKEN and verifier is None:
            raise ValueError("--auth token needs a token verifier")
        self.mode = mode
        self.verifier = verifier
        self.limiter = limiter

    def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Handler | None],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> Handler | None:
        handler = continuation(handler_call_details)
        method: str = handler_call_details.method
        if handler is None or not method.startswith(TENANT_SERVICES):
            return handler
        return _wrap(handler, method, self._admit)

    def _admit(self, method: str, context: grpc.ServicerContext) -> Principal | None:
        """The caller's principal (None with ``--auth none``), or abort the call."""
        principal: Principal | None = None
        if self.mode is AuthMode.TOKEN:
            assert self.verifier is not None
            token = bearer_token(context)
            if not token:
                context.abort(
                    grpc.StatusCode.UNAUTHENTICATED,
                    "missing credentials: send 'authorization: Bearer sbt_...' metadata",
                )
            principal = self.verifier.verify(token)
            if principal is None:
                context.abort(
                    grpc.StatusCode.UNAUTHENTICATED, "bad, revoked or expired bearer token"
                )
            if method.startswith(ADMIN_SERVICE) and not principal.is_admin:
                context.abort(
                    grpc.StatusCode.PERMISSION_DENIED,
                    f"{method.rsplit('/', 1)[-1]} needs a token of an admin tenant",
                )
            tenant = principal.tenant
        else:
            tenant = metadata(context, TENANT_METADATA_KEY).strip() or DEFAULT_TENANT
        if self.limiter is not None:
            wait = self.limiter.acquire(tenant)
            if wait > 0:
                context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"rate limit of {self.limiter.rate:g} calls/s for tenant {tenant!r} "
                    f"exceeded: retry in {wait:.3f}s",
                )
        return principal


Admit = Callable[[str, grpc.ServicerContext], Principal | None]


def _wrap(handler: Handler, method: str, admit: Admit) -> Handler:
    kwargs = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.unary_unary is not None:
        return grpc.unary_unary_rpc_method_handler(
            _unary(handler.unary_unary, method, admit), **kwargs
        )
    if handler.stream_unary is not None:
        return grpc.stream_unary_rpc_method_handler(
            _unary(handler.stream_unary, method, admit), **kwargs
        )
    if handler.unary_stream is not None:
        return grpc.unary_stream_rpc_method_handler(
            _streaming(handler.unary_stream, method, admit), **kwargs
        )
    assert handler.stream_stream is not None
    return grpc.stream_stream_rpc_method_handler(
        _streaming(handler.stream_stream, method, admit), **kwargs
    )


def _unary(behavior: Callable[..., Any], method: str, admit: Admit) -> Callable[..., Any]:
    def wrapped(request: Any, context: grpc.ServicerContext) -> Any:
        principal = admit(method, context)
        reset = PRINCIPAL.set(principal)
        try:
            return behavior(request, context)
        finally:
            PRINCIPAL.reset(reset)

    return wrapped


def _streaming(behavior: Callable[..., Any], method: str, admit: Admit) -> Callable[..., Any]:
    def wrapped(request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        principal = admit(method, context)
        # The principal is set only while the handler's generator runs, never across a
        # yield, so nothing else on this thread sees it.
        reset = PRINCIPAL.set(principal)
        try:
            responses = iter(behavior(request, context))
        finally:
            PRINCIPAL.reset(reset)
        try:
            while True:
                reset = PRINCIPAL.set(principal)
                try:
                    item = next(responses)
                except StopIteration:
                    return
                finally:
                    PRINCIPAL.reset(reset)
                yield item
        finally:
            close = getattr(responses, "close", None)
            if close is not None:
                reset = PRINCIPAL.set(principal)
                try:
                    close()
                finally:
                    PRINCIPAL.reset(reset)

    return wrapped


def auth_interceptor(
    mode: AuthMode,
    *,
    lookup: Lookup,
    clock: Callable[[], datetime],
    token_cache_s: float = 5.0,
    rate_limit: float = 0.0,
    rate_burst: float = 0.0,
) -> AuthInterceptor | None:
    """The interceptor for these settings, or None when it would do nothing (``none``
    and no rate limit: today's behaviour at no cost per call)."""
    limiter = (
        RateLimiter(rate_limit, max(1.0, rate_burst or rate_limit)) if rate_limit > 0 else None
    )
    if mode is AuthMode.NONE and limiter is None:
        return None
    verifier = TokenVerifier(lookup, clock=clock, ttl_s=token_cache_s)
    return AuthInterceptor(mode, verifier=verifier, limiter=limiter)
