"""Client channels: plaintext or TLS (optionally with a client certificate), carrying a
bearer token on every call.

>>> channel = open_channel("sched.example.com:50051", tls=ClientTLS(root_ca=ca_pem),
...                        token="sbt_...")

The token travels as ``authorization: Bearer <token>`` metadata, added by a client
interceptor, so it works on plaintext channels too (a loopback server with ``--auth
token``); over a network, use TLS or the token is readable on the wire.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import grpc

from scheduler.api.retry import channel_options as retry_options
from scheduler.api.tls import ClientTLS

if TYPE_CHECKING:
    _UnaryUnary = grpc.UnaryUnaryClientInterceptor[Any, Any]
    _UnaryStream = grpc.UnaryStreamClientInterceptor[Any, Any]
    _StreamUnary = grpc.StreamUnaryClientInterceptor[Any, Any]
    _StreamStream = grpc.StreamStreamClientInterceptor[Any, Any]
else:  # the stubs' generics are not subscriptable at run time
    _UnaryUnary = grpc.UnaryUnaryClientInterceptor
    _UnaryStream = grpc.UnaryStreamClientInterceptor
    _StreamUnary = grpc.StreamUnaryClientInterceptor
    _StreamStream = grpc.StreamStreamClientInterceptor

AUTHORIZATION_KEY = "authorization"
TOKEN_ENV = "SKYBATCH_TOKEN"
#: Our server answers up to 16 MiB (a large ListJobs page, a big batch's results).
MAX_RECEIVE_BYTES = 16 * 1024 * 1024

ChannelOptions = Sequence[tuple[str, Any]]

#: Options every channel gets; retry/backoff options (``scheduler.api.retry``) go after
#: these in ``open_channel``.
BASE_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
)

__all__ = ["PLAINTEXT", "ClientTLS", "Plaintext", "open_channel", "token_from_env"]


class Plaintext(enum.Enum):
    """Say "no TLS, whatever the environment says" (``tls=PLAINTEXT``)."""

    PLAINTEXT = "plaintext"


PLAINTEXT = Plaintext.PLAINTEXT


def token_from_env() -> str:
    return os.environ.get(TOKEN_ENV, "").strip()


def open_channel(
    target: str,
    *,
    tls: ClientTLS | None,
    token: str = "",
    options: ChannelOptions = (),
) -> grpc.Channel:
    """A channel to ``target`` (``host:port``); TLS when ``tls`` is given; every call
    carries ``token`` when it is not empty. ``options`` override the defaults."""
    merged = dict(BASE_OPTIONS)
    merged.update(dict(retry_options()))
    merged.update(dict(options))
    opts = list(merged.items())
    channel = (
        grpc.secure_channel(target, tls.credentials(), options=opts)
        if tls is not None
        else grpc.insecure_channel(target, options=opts)
    )
    if token:
        return grpc.intercept_channel(channel, BearerToken(token))
    return channel


class BearerToken(
    _UnaryUnary,
    _UnaryStream,
    _StreamUnary,
    _StreamStream,
):
    """Adds ``authorization: Bearer <token>`` to every call's metadata."""

    def __init__(self, token: str) -> None:
        self._header = (AUTHORIZATION_KEY, f"Bearer {token}")

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [m for m in (details.metadata or ()) if m[0] != AUTHORIZATION_KEY]
        return _CallDetails(
            details.method,
            details.timeout,
            (*metadata, self._header),
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._details(details), request)

    def intercept_unary_stream(
        self, continuation: Callable[..., Any], details: grpc.ClientCallDetails, request: Any
    ) -> Any:
        return continuation(self._details(details), request)

    def intercept_stream_unary(
        self,
        continuation: Callable[..., Any],
        details: grpc.ClientCallDetails,
        request_iterator: Iterator[Any],
    ) -> Any:
        return continuation(self._details(details), request_iterator)

    def intercept_stream_stream(
        self,
        continuation: Callable[..., Any],
        details: grpc.ClientCallDetails,
        request_iterator: Iterator[Any],
    ) -> Any:
        return continuation(self._details(details), request_iterator)


class _CallDetails(grpc.ClientCallDetails):
    def __init__(
        self,
        method: str,
        timeout: float | None,
        metadata: tuple[tuple[str, str | bytes], ...],
        credentials: grpc.CallCredentials | None,
        wait_for_ready: bool | None,
        compression: Any,
    ) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression
