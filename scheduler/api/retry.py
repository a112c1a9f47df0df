"""Retries with exponential backoff on UNAVAILABLE, in two layers.

1. **gRPC's own retries** (:func:`channel_options`): a service config whose
   ``retryPolicy`` retries a call that ended UNAVAILABLE (no connection, the server
   restarting, a GOAWAY) inside the channel, and reconnect backoff of the same shape.
   Only methods safe to repeat are listed (:data:`RETRY_SAFE`): reads, cancels,
   worker reports, and submissions, which the Python client always sends with a
   ``client_request_id`` so a repeat returns the first job instead of a second one.
   gRPC caps ``maxAttempts`` at 5.
2. **The client's own loop** (:func:`call`): gRPC stops retrying once its attempts
   are spent, and while a channel waits to reconnect it fails calls at once. The
   Python client therefore runs every idempotent call through :func:`call`, which
   tries again after ``initial_backoff_s * multiplier**(n-1)`` (at most
   ``max_backoff_s``, each scaled by a random 0.5-1 jitter) until ``attempts`` calls
   have failed, then raises :class:`scheduler.api.client_errors.Unavailable`.

The knobs (:class:`RetryPolicy`): ``attempts`` (client-level tries, default 6),
``initial_backoff_s`` (0.2 s), ``max_backoff_s`` (3 s), ``multiplier`` (2), and
``grpc_attempts`` (per call inside gRPC, 2..5, default 3). A call to a server that
stays down gives up after sleeping between :meth:`RetryPolicy.min_wait_s` and
:meth:`RetryPolicy.max_wait_s` (3 to 9.6 s with the defaults), plus the time its
connection attempts take.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from scheduler.api.client_errors import RpcFailed, from_rpc_error

T = TypeVar("T")

#: Methods gRPC may repeat on UNAVAILABLE (``service/method``; a bare service is all
#: of its methods). Creating tenants or tokens, setting budgets, refits and billing
#: uploads are not here: a repeat after a lost reply would do them twice.
RETRY_SAFE: tuple[str, ...] = (
    "skybatch.v1.JobService",
    "skybatch.v1.WorkerService",
    "skybatch.v1.ReportService",
    "skybatch.v1.AdminService/GetCostModel",
    "skybatch.v1.AdminService/ListCostModels",
    "skybatch.v1.AdminService/DiffCostModels",
    "skybatch.v1.AdminService/ListTenants",
    "skybatch.v1.AdminService/ListTokens",
    "skybatch.v1.AdminService/GetBudgets",
)


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 6
    initial_backoff_s: float = 0.2
    max_backoff_s: float = 3.0
    multiplier: float = 2.0
    grpc_attempts: int = 3

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if not 2 <= self.grpc_attempts <= 5:
            raise ValueError("grpc_attempts must be 2..5 (gRPC's limit)")
        if not 0 < self.initial_backoff_s <= self.max_backoff_s:
            raise ValueError("backoff must satisfy 0 < initial_backoff_s <= max_backoff_s")
        if self.multiplier < 1:
            raise ValueError("multiplier must be at least 1")

    def backoff_s(self, failures: int) -> float:
        """The longest pause after the ``failures``-th failed attempt (1-based)."""
        return float(
            min(self.max_backoff_s, self.initial_backoff_s * self.multiplier ** (failures - 1))
        )

    def grpc_wait_s(self) -> float:
        """The most gRPC's own retries of one attempt sleep (its jitter is 0 to 1)."""
        return sum(self.backoff_s(n) for n in range(1, self.grpc_attempts))

    def max_wait_s(self) -> float:
        """The most a call sleeps in total before it gives up: the client's pauses and
        gRPC's inside each attempt."""
        client = sum(self.backoff_s(n) for n in range(1, self.attempts))
        return client + self.attempts * self.grpc_wait_s()

    def min_wait_s(self) -> float:
        """The least it sleeps (the client's jitter scales each pause by 0.5 to 1)."""
        return sum(self.backoff_s(n) for n in range(1, self.attempts)) / 2


DEFAULT_POLICY = RetryPolicy()
#: Retries off (for tests of error paths and callers that retry themselves).
NO_RETRIES = RetryPolicy(attempts=1)


def _seconds(s: float) -> str:
    return f"{s:.3f}s"


def service_config(policy: RetryPolicy = DEFAULT_POLICY) -> str:
    """The ``grpc.service_config`` JSON: retry UNAVAILABLE on :data:`RETRY_SAFE`."""
    names = [
        {"service": s} if "/" not in s else {"service": s.split("/")[0], "method": s.split("/")[1]}
        for s in RETRY_SAFE
    ]
    return json.dumps(
        {
            "methodConfig": [
                {
                    "name": names,
                    "retryPolicy": {
                        "maxAttempts": policy.grpc_attempts,
                        "initialBackoff": _seconds(policy.initial_backoff_s),
                        "maxBackoff": _seconds(policy.max_backoff_s),
                        "backoffMultiplier": policy.multiplier,
                        "retryableStatusCodes": ["UNAVAILABLE"],
                    },
                }
            ]
        }
    )


def channel_options(policy: RetryPolicy = DEFAULT_POLICY) -> list[tuple[str, Any]]:
    """Channel options turning on gRPC's retries, and reconnecting on the same
    schedule (gRPC's default waits up to 2 minutes between connection attempts)."""
    initial_ms = max(1, int(policy.initial_backoff_s * 1000))
    return [
        ("grpc.enable_retries", 1),
        ("grpc.service_config", service_config(policy)),
        ("grpc.initial_reconnect_backoff_ms", initial_ms),
        ("grpc.min_reconnect_backoff_ms", initial_ms),
        ("grpc.max_reconnect_backoff_ms", max(initial_ms, int(policy.max_backoff_s * 1000))),
    ]


#: UNAVAILABLE details that no retry cures: the TLS handshake failed (a wrong CA, a
#: missing client certificate, plaintext against TLS).
_TLS_FAILURES = ("handshake", "ssl_error", "certificate", "tsi_")


def retryable(exc: grpc.RpcError) -> bool:
    """UNAVAILABLE, except a failed TLS handshake (gRPC reports both the same way)."""
    if not isinstance(exc, grpc.Call) or exc.code() is not grpc.StatusCode.UNAVAILABLE:
        return False
    details = (exc.details() or "").lower()
    return not any(marker in details for marker in _TLS_FAILURES)


def call(
    fn: Callable[[], T],
    method: str,
    policy: RetryPolicy = DEFAULT_POLICY,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """``fn()``, again after a backoff while it fails with UNAVAILABLE, at most
    ``policy.attempts`` times. Only for idempotent calls.

    Raises :class:`~scheduler.api.client_errors.RpcFailed` (the subclass for the
    status code: ``Unavailable`` once every attempt failed, ``NotFound``...).
    """
    for attempt in range(1, policy.attempts + 1):
        try:
            return fn()
        except RpcFailed:
            raise
        except grpc.RpcError as exc:
            if not retryable(exc) or attempt == policy.attempts:
                raise from_rpc_error(method, exc, attempt) from exc
            sleep(policy.backoff_s(attempt) * random.uniform(0.5, 1.0))
    raise AssertionError("unreachable")
