"""A real moto server (AWS EC2 and S3 over HTTP) for the libcloud adapters' tests.

:func:`start_moto_server` runs ``python -m moto.server`` as a subprocess on a free
loopback port, waits until it answers, and stops it afterwards. Nothing has to be
running beforehand (CI starts nothing).

moto's EC2 answers differ from the real EC2's in two places that libcloud's EC2
driver trips over. The bridges live here, in the tests, never in the adapters (which
must stay right for the real EC2). EC2 clients talk to :attr:`MotoServer.ec2_port`, a
small HTTP proxy in front of moto that changes only these and passes everything else
through untouched:

- **XML namespace.** moto 5.2 writes ``xmlns="http://ec2.amazonaws.com/doc/2016-11-15"``
  without the trailing slash; the real EC2 API, and libcloud's EC2 driver, use
  ``.../2016-11-15/``. libcloud looks elements up by namespace, so against bare moto
  every list comes back empty and ``create_node`` returns nothing. The proxy adds the
  slash.
- **Error bodies.** The real EC2 answers an error with an un-namespaced
  ``<Response><Errors><Error><Code/><Message/></Error></Errors><RequestID/></Response>``.
  moto puts the namespace on ``<Response>`` (so libcloud's ``Errors/Error`` lookup finds
  nothing and the error arrives with an empty message, its code lost), and for auth
  failures writes ``<ErrorResponse>`` with a third ``<Type>`` child in ``<Error>``
  (libcloud unpacks exactly Code and Message, and raises ``ValueError``). The proxy
  rewrites every EC2 error body to the real shape, keeping the status, code and message.

S3 needs no bridge: S3 clients talk to moto directly (:attr:`MotoServer.port`).

Both services are told apart by moto from the SigV4 ``Authorization`` header (its
credential scope names the service), so EC2 clients must sign with SigV4: with
libcloud's default SigV2 query signing moto answers as S3.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from xml.etree import ElementTree

HOST = "127.0.0.1"
REGION = "us-east-1"
#: moto accepts any credentials; these only have to look like AWS ones.
ACCESS_KEY = "AKIAMOTOTESTINGKEY00"
SECRET_KEY = "moto-testing-secret-key"

_STARTUP_TIMEOUT_S = 60.0
_MOTO_EC2_NAMESPACE = b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15"'
_EC2_NAMESPACE = b'xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"'
# Per-connection headers (RFC 9110, 7.6.1) are not forwarded; Content-Length is
# recomputed because the body may change length.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
    }
)


@dataclass(frozen=True)
class MotoServer:
    """A running moto server. ``port`` is moto itself (S3); ``ec2_port`` the EC2 bridge."""

    host: str
    port: int
    ec2_port: int
    region: str = REGION
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY

    def reset(self) -> None:
        """Forget every resource (instances, buckets, ...): each test starts clean."""
        _post(self.host, self.port, "/moto-api/reset")

    @contextlib.contextmanager
    def auth_enforced(self) -> Iterator[None]:
        """Inside the block moto checks credentials like AWS does; ours are unknown to
        its IAM, so every EC2 and S3 call fails as with wrong keys."""
        _post(self.host, self.port, "/moto-api/reset-auth", body=b"0")
        try:
            yield
        finally:
            _post(self.host, self.port, "/moto-api/reset-auth", body=b"inf")


def _post(host: str, port: int, path: str, body: bytes = b"", timeout: float = 10.0) -> int:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        conn.request("POST", path, body=body)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        port: int = s.getsockname()[1]
        return port


class _Ec2Bridge(ThreadingHTTPServer):
    """HTTP proxy to moto that fixes the EC2 XML namespace (see the module docstring)."""

    daemon_threads = True

    def __init__(self, upstream_port: int) -> None:
        super().__init__((HOST, 0), _BridgeHandler)
        self.upstream_port = upstream_port


class _BridgeHandler(BaseHTTPRequestHandler):
    # One request per connection: the client reconnects, which a test proxy can afford.
    protocol_version = "HTTP/1.0"
    server: _Ec2Bridge

    def do_GET(self) -> None:
        self._forward()

    def do_POST(self) -> None:
        self._forward()

    def do_PUT(self) -> None:
        self._forward()

    def do_DELETE(self) -> None:
        self._forward()

    def do_HEAD(self) -> None:
        self._forward()

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
        upstream = http.client.HTTPConnection(HOST, self.server.upstream_port, timeout=30)
        try:
            # Host is forwarded as the client sent it: it is part of what SigV4 signs.
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            data = response.read()
        finally:
            upstream.close()
        data = data.replace(_MOTO_EC2_NAMESPACE, _EC2_NAMESPACE)
        if response.status >= 400:
            data = _real_ec2_error(data)
        self.send_response(response.status, response.reason)
        for key, value in response.getheaders():
            if key.lower() not in _HOP_BY_HOP:
                self.send_header(key, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: pytest would show every request on stderr."""


def _local_name(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _real_ec2_error(body: bytes) -> bytes:
    """``body`` in the shape the real EC2 gives errors (see the module docstring);
    unchanged when it is not an XML list of errors."""
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return body
    out = ElementTree.Element("Response")
    errors = ElementTree.SubElement(out, "Errors")
    for error in root.iter():
        if _local_name(error.tag) != "Error":
            continue
        fields = {_local_name(child.tag): child.text or "" for child in error}
        item = ElementTree.SubElement(errors, "Error")
        ElementTree.SubElement(item, "Code").text = fields.get("Code", "")
        ElementTree.SubElement(item, "Message").text = fields.get("Message", "")
    if not len(errors):
        return body
    request_id = next((e.text for e in root.iter() if _local_name(e.tag) == "RequestID"), "")
    ElementTree.SubElement(out, "RequestID").text = request_id or "moto"
    return ElementTree.tostring(out, encoding="utf-8", xml_declaration=True)


def _wait_until_up(proc: subprocess.Popen[bytes], port: int, log: Path) -> bool:
    """True once moto answers; False if it exited (e.g. lost the port to someone)."""
    deadline = time.monotonic() + _STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError):
            if _post(HOST, port, "/moto-api/reset", timeout=2.0) == 200:
                return True
        time.sleep(0.1)
    raise RuntimeError(
        f"moto did not answer on {HOST}:{port} within {_STARTUP_TIMEOUT_S:.0f}s:\n"
        + log.read_text(errors="replace")[-2000:]
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@contextlib.contextmanager
def _moto_process(log: Path) -> Iterator[int]:
    """A moto subprocess on a free port; yields the port once it answers."""
    for _ in range(3):  # the free port can be taken between choosing and binding it
        port = free_port()
        with log.open("ab") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        try:
            if _wait_until_up(proc, port, log):
                yield port
                return
        finally:
            _stop(proc)
    raise RuntimeError("moto exited at startup three times:\n" + log.read_text()[-2000:])


@contextlib.contextmanager
def start_moto_server() -> Iterator[MotoServer]:
    """Run moto and its EC2 bridge for the duration of the ``with`` block."""
    with (
        tempfile.TemporaryDirectory(prefix="moto-") as tmp,
        _moto_process(Path(tmp) / "moto.log") as port,
    ):
        bridge = _Ec2Bridge(port)
        thread = threading.Thread(target=bridge.serve_forever, name="moto-ec2-bridge", daemon=True)
        thread.start()
        try:
            yield MotoServer(host=HOST, port=port, ec2_port=bridge.server_address[1])
        finally:
            bridge.shutdown()
            bridge.server_close()
            thread.join(timeout=5)
