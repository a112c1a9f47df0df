"""TLS and mutual TLS on a real server, with throwaway certificates: what connects and
what does not; and the whole loop over TLS (workers verify the server with the CA the
launcher hands them)."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from scheduler.api.auth import AuthMode
from scheduler.api.channel import PLAINTEXT
from scheduler.api.client import SkybatchClient
from scheduler.api.tls import ClientTLS, ServerTLS
from scheduler.cli.main import main
from scheduler.domain import JobState, utcnow
from scheduler.tenancy import Role
from tests.conftest import ServiceFactory
from tests.integration.test_api import spec
from tests.support.tls import TlsFiles, make_tls_files


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path / "tls")


def refused(c: SkybatchClient) -> None:
    with pytest.raises(grpc.RpcError) as info:
        c.list_page()
    assert info.value.code() is grpc.StatusCode.UNAVAILABLE


def test_tls_works_and_plaintext_or_a_wrong_ca_fail(
    service_factory: ServiceFactory, tls: TlsFiles
) -> None:
    svc = service_factory(
        control_loop=False, tls=ServerTLS.from_files(tls.server_cert, tls.server_key)
    )
    good = ClientTLS.from_files(ca=tls.ca)
    with SkybatchClient(svc.address, token="", tls=good, timeout_s=5) as c:
        [(job, _)] = c.submit([spec()])
        assert c.get(job.id).state is JobState.PENDING
    with SkybatchClient(svc.address, token="", tls=PLAINTEXT, timeout_s=3) as c:
        refused(c)
    with SkybatchClient(
        svc.address, token="", tls=ClientTLS.from_files(ca=tls.other_ca), timeout_s=3
    ) as c:
        refused(c)


def test_mutual_tls_requires_a_client_certificate_from_the_ca(
    service_factory: ServiceFactory, tls: TlsFiles
) -> None:
    svc = service_factory(
        control_loop=False,
        tls=ServerTLS.from_files(tls.server_cert, tls.server_key, client_ca=tls.ca),
    )
    with_cert = ClientTLS.from_files(ca=tls.ca, cert=tls.client_cert, key=tls.client_key)
    with SkybatchClient(svc.address, token="", tls=with_cert, timeout_s=5) as c:
        assert c.list_all() == []
    stranger = ClientTLS.from_files(ca=tls.ca, cert=tls.other_client_cert, key=tls.other_client_key)
    for client_tls in (ClientTLS.from_files(ca=tls.ca), stranger):
        with SkybatchClient(svc.address, token="", tls=client_tls, timeout_s=3) as c:
            refused(c)


def test_cli_over_tls_with_a_token(
    service_factory: ServiceFactory, tls: TlsFiles, capsys: pytest.CaptureFixture[str]
) -> None:
    svc = service_factory(
        control_loop=False,
        tls=ServerTLS.from_files(tls.server_cert, tls.server_key),
        auth=AuthMode.TOKEN,
    )
    svc.tenants.create_tenant("alice", Role.USER, utcnow())
    _, token = svc.tenants.create_token("alice", utcnow())
    server = ("--server", svc.address, "--token", token)
    assert main(["--tls-ca", str(tls.ca), "jobs", *server]) == 0
    capsys.readouterr()
    assert main(["jobs", "--tls-ca", str(tls.other_ca), *server]) == 1
    err = capsys.readouterr().err
    assert "cannot reach" in err and "TLS:" in err, err
    assert main(["jobs", "--tls-ca", str(tls.ca / "missing"), *server]) == 2
    assert "--tls-ca" in capsys.readouterr().err


def test_the_whole_loop_over_tls(service_factory: ServiceFactory, tls: TlsFiles) -> None:
    svc = service_factory(
        tls=ServerTLS.from_files(tls.server_cert, tls.server_key, worker_ca=tls.ca)
    )
    with SkybatchClient(
        svc.address, token="", tls=ClientTLS.from_files(ca=tls.ca), timeout_s=10
    ) as c:
        [(job, _)] = c.submit([spec(command=("python", "-c", "print('over tls')"))])
        deadline = time.monotonic() + 90
        while (state := c.get(job.id).state) not in (JobState.SUCCEEDED, JobState.FAILED):
            assert time.monotonic() < deadline, f"job stuck in {state}"
            time.sleep(0.3)
        assert state is JobState.SUCCEEDED
