"""What the Python clients raise when a call fails: one class per status a caller
acts on, all :class:`RpcFailed`.

``RpcFailed`` is also a ``grpc.RpcError`` and a ``grpc.Call`` (``code()``,
``details()``), so code written against plain gRPC errors keeps working, and a
:class:`scheduler.errors.SkybatchError`, so one ``except`` catches every skybatch error.
"""

from __future__ import annotations

from typing import Any

import grpc

from scheduler.errors import SkybatchError


class RpcFailed(SkybatchError, grpc.RpcError, grpc.Call):
    """A call ended with a status other than OK.

    ``method`` is the RPC (``"GetJob"``), ``attempts`` how many calls were made
    (more than one after retries on UNAVAILABLE).
    """

    def __init__(
        self,
        method: str,
        code: grpc.StatusCode,
        details: str,
        attempts: int = 1,
        call: grpc.Call | None = None,
    ) -> None:
        super().__init__(f"{method}: {code.name}: {details}")
        self.method = method
        self.status = code
        self.message = details
        self.attempts = attempts
        self._call = call

    def code(self) -> grpc.StatusCode:
        return self.status

    def details(self) -> str:
        return self.message

    def initial_metadata(self) -> Any:
        return self._call.initial_metadata() if self._call is not None else ()

    def trailing_metadata(self) -> Any:
        return self._call.trailing_metadata() if self._call is not None else ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float:
        return 0.0

    def cancel(self) -> bool:
        return False

    def add_callback(self, callback: Any) -> bool:
        return False


class Unavailable(RpcFailed):
    """The server could not be reached, after every retry."""


class InvalidRequest(RpcFailed):
    """The server refused the request (INVALID_ARGUMENT); ``field`` names the culprit
    (``"spec.deadline"``), ``problem`` says what is wrong."""

    @property
    def field(self) -> str:
        return self.message.split(": ", 1)[0] if ": " in self.message else ""

    @property
    def problem(self) -> str:
        return self.message.split(": ", 1)[1] if ": " in self.message else self.message


class NotFoundError(RpcFailed):
    """No such job (or not the caller's: another tenant's job is not found either)."""


class AccessDenied(RpcFailed):
    """Missing or bad credentials (UNAUTHENTICATED), or not allowed (PERMISSION_DENIED)."""


class LimitExceeded(RpcFailed):
    """A rate, size or quota limit (RESOURCE_EXHAUSTED): slow down or send less."""


class Conflict(RpcFailed):
    """The request does not apply in the object's current state (FAILED_PRECONDITION)."""


class DeadlineExceeded(RpcFailed):
    """The call took longer than the client's timeout."""


_BY_CODE: dict[grpc.StatusCode, type[RpcFailed]] = {
    grpc.StatusCode.UNAVAILABLE: Unavailable,
    grpc.StatusCode.INVALID_ARGUMENT: InvalidRequest,
    grpc.StatusCode.OUT_OF_RANGE: InvalidRequest,
    grpc.StatusCode.NOT_FOUND: NotFoundError,
    grpc.StatusCode.UNAUTHENTICATED: AccessDenied,
    grpc.StatusCode.PERMISSION_DENIED: AccessDenied,
    grpc.StatusCode.RESOURCE_EXHAUSTED: LimitExceeded,
    grpc.StatusCode.FAILED_PRECONDITION: Conflict,
    grpc.StatusCode.DEADLINE_EXCEEDED: DeadlineExceeded,
}


def from_rpc_error(method: str, exc: grpc.RpcError, attempts: int = 1) -> RpcFailed:
    """Our error for a failed gRPC call."""
    if isinstance(exc, grpc.Call):
        code, details = exc.code(), exc.details() or ""
        call: grpc.Call | None = exc
    else:
        code, details, call = grpc.StatusCode.UNKNOWN, str(exc), None
    return _BY_CODE.get(code, RpcFailed)(method, code, details, attempts, call)
