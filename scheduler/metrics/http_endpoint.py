"""The HTTP side: ``/metrics`` (Prometheus text format) and ``/healthz`` (200 or 503).

A small threaded WSGI server on its own port, apart from gRPC, as Prometheus expects.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import CollectorRegistry, make_wsgi_app

from scheduler.errors import SkybatchError

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class MetricsBindError(SkybatchError):
    """The metrics endpoint cannot listen on the requested address."""


class _ThreadingWSGIServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Scrapes every few seconds would drown the service's own log lines."""


class MetricsEndpoint:
    """Serves ``registry`` on ``host:port`` (port 0: any free one; see :attr:`address`)."""

    def __init__(self, bind: str, registry: CollectorRegistry, healthy: Callable[[], bool]) -> None:
        host, _, port = bind.rpartition(":")
        self.healthy = healthy
        self._metrics = make_wsgi_app(registry)
        try:
            self._httpd = make_server(
                host, int(port), self._app, _ThreadingWSGIServer, handler_class=_QuietHandler
            )
        except OSError as exc:
            raise MetricsBindError(f"metrics: cannot listen on {bind}: {exc}") from None
        self.address = f"{host}:{self._httpd.server_port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="metrics-http", daemon=True
        )

    def _app(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz":
            ok = self.healthy()
            status = "200 OK" if ok else "503 Service Unavailable"
            start_response(status, [("Content-Type", "text/plain; charset=utf-8")])
            return [b"ok\n" if ok else b"store unreachable\n"]
        body: Iterable[bytes] = self._metrics(environ, start_response)
        return body

    def start(self) -> None:
        self._thread.start()
        log.info("metrics on http://%s/metrics", self.address)

    def stop(self) -> None:
        if self._thread.is_alive():
            self._httpd.shutdown()
        self._httpd.server_close()
