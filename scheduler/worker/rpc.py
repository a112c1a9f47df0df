"""The agent's client of the worker gRPC API: token metadata, deadlines and retries.

Every call carries the attempt-scoped token as ``x-skybatch-attempt-token`` metadata.
The token is held only here and is never logged. Protobuf messages stay in this
module: callers get an :class:`Assignment` dataclass and plain values back, and
failures as :class:`WorkerRpcError` carrying the gRPC status code.

Only transient statuses (the server restarting, a network blip, a deadline) are
retried, with capped exponential backoff inside a total time budget; anything else
(e.g. UNAUTHENTICATED, NOT_FOUND) fails at once.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import grpc

from scheduler.api.channel import open_channel
from scheduler.api.gen.skybatch.v1 import worker_pb2, worker_pb2_grpc
from scheduler.api.tls import ClientTLS
from scheduler.tokens import TOKEN_METADATA_KEY
from scheduler.worker.target import dial_target

log = logging.getLogger(__name__)

RETRYABLE = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        grpc.StatusCode.ABORTED,
    }
)
_BACKOFF_FIRST_S = 0.25
_BACKOFF_MAX_S = 4.0
_POLL_S = 0.05

T = TypeVar("T")

# The generated service stub has no annotations (grpc_tools writes no .pyi for it); the
# messages it returns are typed by worker_pb2.pyi at each call site below.
_new_stub: Callable[[grpc.Channel], Any] = worker_pb2_grpc.WorkerServiceStub


class WorkerRpcError(Exception):
    """A worker API call failed; ``code`` is the gRPC status (None if there was none)."""

    def __init__(self, what: str, code: grpc.StatusCode | None, details: str) -> None:
        name = code.name if code is not None else "ERROR"
        super().__init__(f"{what} failed: {name}: {details}")
        self.code = code
        self.details = details

    @property
    def retryable(self) -> bool:
        return self.code in RETRYABLE


@dataclass(frozen=True)
class Assignment:
    """What the server wants this attempt to run."""

    job_id: str
    attempt_id: str
    attempt_number: int
    command: tuple[str, ...]
    env: Mapping[str, str]
    checkpoint_interval_s: float
    heartbeat_interval_s: float
    checkpoint_uri: str


def assignment_from_pb(msg: worker_pb2.Assignment) -> Assignment:
    return Assignment(
        job_id=msg.job_id,
        attempt_id=msg.attempt_id,
        attempt_number=msg.attempt_number,
        command=tuple(msg.command),
        env=dict(msg.env),
        checkpoint_interval_s=msg.checkpoint_interval.ToTimedelta().total_seconds(),
        heartbeat_interval_s=msg.heartbeat_interval.ToTimedelta().total_seconds(),
        checkpoint_uri=msg.checkpoint_uri,
    )


def worker_tls() -> ClientTLS | None:
    """The server's CA, and under mutual TLS the worker's client certificate and key,
    from the node's environment (the launcher puts them in the boot script); None:
    plaintext."""
    return ClientTLS.from_pem_env(os.environ)


def _never() -> bool:
    return False


class WorkerClient:
    """Calls the worker API on behalf of one attempt."""

    def __init__(self, server: str, attempt_id: str, token: str) -> None:
        self._attempt_id = attempt_id
        self._metadata = ((TOKEN_METADATA_KEY, token),)
        # TLS when the launcher handed us the server's CA (SKYBATCH_TLS_CA_PEM), with a
        # client certificate under mutual TLS (SKYBATCH_TLS_CERT_PEM/KEY_PEM): that only
        # gets us through TLS; the attempt token in our metadata says what we may touch.
        self._channel = open_channel(dial_target(server), tls=worker_tls())
        self._stub = _new_stub(self._channel)

    def close(self) -> None:
        self._channel.close()

    def get_assignment(
        self, *, budget_s: float = 30.0, cancelled: Callable[[], bool] = _never
    ) -> Assignment:
        request = worker_pb2.GetAssignmentRequest(attempt_id=self._attempt_id)

        def call() -> Assignment:
            msg: worker_pb2.Assignment = self._call("GetAssignment", request, timeout=5.0)
            return assignment_from_pb(msg)

        return retry(call, budget_s=budget_s, cancelled=cancelled)

    def heartbeat(self, progress: float, message: str = "", *, timeout: float = 2.0) -> bool:
        """Send one heartbeat; True when the server answers STOP."""
        request = worker_pb2.HeartbeatRequest(
            attempt_id=self._attempt_id, progress=progress, message=message
        )
        response: worker_pb2.HeartbeatResponse = self._call("Heartbeat", request, timeout)
        return response.action == worker_pb2.WORKER_ACTION_STOP

    def report_checkpoint(
        self, seq: int, progress: float, size_bytes: int, *, timeout: float = 2.0
    ) -> None:
        request = worker_pb2.ReportCheckpointRequest(
            attempt_id=self._attempt_id, seq=seq, progress=progress, size_bytes=size_bytes
        )
        self._call("ReportCheckpoint", request, timeout)

    def finish(
        self,
        exit_code: int,
        *,
        interrupted: bool,
        message: str = "",
        budget_s: float = 30.0,
        timeout: float = 5.0,
        cancelled: Callable[[], bool] = _never,
    ) -> None:
        request = worker_pb2.FinishRequest(
            attempt_id=self._attempt_id,
            exit_code=exit_code,
            interrupted=interrupted,
            message=message,
        )

        def call() -> None:
            self._call("Finish", request, min(timeout, max(budget_s, 0.1)))

        retry(call, budget_s=budget_s, cancelled=cancelled)

    def _call(self, method: str, request: Any, timeout: float) -> Any:
        try:
            return getattr(self._stub, method)(request, metadata=self._metadata, timeout=timeout)
        except grpc.RpcError as exc:
            raise WorkerRpcError(method, exc.code(), exc.details() or "") from exc


def retry(call: Callable[[], T], *, budget_s: float, cancelled: Callable[[], bool]) -> T:
    """``call()`` until it succeeds, fails for good, or ``budget_s`` runs out.

    The first attempt always happens; later ones stop early when ``cancelled()``
    becomes true (raising the last error).
    """
    deadline = time.monotonic() + budget_s
    delay = _BACKOFF_FIRST_S
    while True:
        try:
            return call()
        except WorkerRpcError as exc:
            if not exc.retryable or time.monotonic() + delay > deadline or cancelled():
                raise
            log.warning("%s; retrying in %.2fs", exc, delay)
        _sleep(delay, cancelled)
        delay = min(delay * 2, _BACKOFF_MAX_S)


def _sleep(seconds: float, cancelled: Callable[[], bool]) -> None:
    """Sleep in short slices so a signal handler's flag is noticed quickly."""
    end = time.monotonic() + seconds
    while not cancelled() and (left := end - time.monotonic()) > 0:
        time.sleep(min(left, _POLL_S))
