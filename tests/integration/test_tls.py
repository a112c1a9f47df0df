"""TLS and mutual TLS on a real server, with throwaway certificates: what connects and
what does not; and the whole loop over TLS and mutual TLS (workers verify the server
with the CA the launcher hands them, and present the worker certificate)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import grpc
import pytest

from scheduler.api.auth import AuthMode
from scheduler.api.channel import PLAINTEXT, open_channel
from scheduler.api.client import SkybatchClient
from scheduler.api.gen.skybatch.v1 import jobs_pb2, jobs_pb2_grpc, worker_pb2, worker_pb2_grpc
from scheduler.api.retry import NO_RETRIES
from scheduler.api.tls import ClientTLS, ServerTLS
from scheduler.cli.main import main, parser
from scheduler.cli.serve import config_from_args
from scheduler.domain import JobState, JobView, utcnow
from scheduler.errors import InvalidArgument
from scheduler.service import Service
from scheduler.tenancy import Role
from scheduler.tokens import TOKEN_METADATA_KEY, attempt_token
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
        # A refused handshake is UNAVAILABLE, which the default policy retries for ~16 s.
        with SkybatchClient(
            svc.address, token="", tls=client_tls, timeout_s=3, retry=NO_RETRIES
        ) as c:
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


def run_to_the_end(c: SkybatchClient, command: tuple[str, ...]) -> JobView:
    [(job, _)] = c.submit([spec(command=command)])
    deadline = time.monotonic() + 90
    while (view := c.get(job.id)).state not in (JobState.SUCCEEDED, JobState.FAILED):
        assert time.monotonic() < deadline, f"job stuck in {view.state}"
        time.sleep(0.3)
    return view


def test_the_whole_loop_over_tls(service_factory: ServiceFactory, tls: TlsFiles) -> None:
    svc = service_factory(
        tls=ServerTLS.from_files(tls.server_cert, tls.server_key, worker_ca=tls.ca)
    )
    with SkybatchClient(
        svc.address, token="", tls=ClientTLS.from_files(ca=tls.ca), timeout_s=10
    ) as c:
        view = run_to_the_end(c, ("python", "-c", "print('over tls')"))
        assert view.state is JobState.SUCCEEDED


def mutual_tls(tls: TlsFiles) -> ServerTLS:
    return ServerTLS.from_files(
        tls.server_cert,
        tls.server_key,
        client_ca=tls.ca,
        worker_ca=tls.ca,
        worker_cert=tls.worker_cert,
        worker_key=tls.worker_key,
    )


def as_worker(tls: TlsFiles) -> ClientTLS:
    return ClientTLS.from_files(ca=tls.ca, cert=tls.worker_cert, key=tls.worker_key)


def get_assignment(svc: Service, tls: TlsFiles, attempt_id: str, token: str) -> object:
    with open_channel(svc.address, tls=as_worker(tls)) as ch:
        stub = worker_pb2_grpc.WorkerServiceStub(ch)
        request = worker_pb2.GetAssignmentRequest(attempt_id=attempt_id)
        return stub.GetAssignment(request, metadata=((TOKEN_METADATA_KEY, token),), timeout=10)


def test_the_whole_loop_over_mutual_tls_with_a_worker_certificate(
    service_factory: ServiceFactory, tls: TlsFiles
) -> None:
    svc = service_factory(tls=mutual_tls(tls))
    user = ClientTLS.from_files(ca=tls.ca, cert=tls.client_cert, key=tls.client_key)
    # The job must not see the worker's TLS key (nor its certificate).
    leaks = (
        "import os, sys; "
        "sys.exit(any(k in os.environ for k in ('SKYBATCH_TLS_KEY_PEM', 'SKYBATCH_TLS_CERT_PEM')))"
    )
    with SkybatchClient(svc.address, token="", tls=user, timeout_s=10) as c:
        view = run_to_the_end(c, ("python", "-c", leaks))
    assert view.state is JobState.SUCCEEDED, view
    # The certificate gets a worker through TLS; the attempt token decides the attempt.
    attempt_id = view.attempts[-1].id
    secret = svc.attempts.secret("attempt-token-hmac")
    assignment = get_assignment(svc, tls, attempt_id, attempt_token(secret, attempt_id))
    assert isinstance(assignment, worker_pb2.Assignment)
    assert assignment.job_id == view.id
    for token in (attempt_token(secret, "another-attempt"), ""):
        with pytest.raises(grpc.RpcError) as info:
            get_assignment(svc, tls, attempt_id, token)
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED


def test_a_worker_certificate_alone_opens_no_job_service_under_auth_token(
    service_factory: ServiceFactory, tls: TlsFiles
) -> None:
    svc = service_factory(control_loop=False, tls=mutual_tls(tls), auth=AuthMode.TOKEN)
    svc.tenants.create_tenant("alice", Role.USER, utcnow())
    _, token = svc.tenants.create_token("alice", utcnow())
    with open_channel(svc.address, tls=as_worker(tls)) as ch:
        jobs = jobs_pb2_grpc.JobServiceStub(ch)
        with pytest.raises(grpc.RpcError) as info:
            jobs.ListJobs(jobs_pb2.ListJobsRequest(), timeout=10)
        assert info.value.code() is grpc.StatusCode.UNAUTHENTICATED
        # The same connection with a tenant's token: it was the token that was missing.
        jobs.ListJobs(
            jobs_pb2.ListJobsRequest(), metadata=(("authorization", f"Bearer {token}"),), timeout=10
        )


def serve_args(tmp_path: Path, tls: TlsFiles, *extra: str) -> list[str]:
    return [
        "serve",
        "--bind",
        "127.0.0.1:0",
        "--data-dir",
        str(tmp_path / "data"),
        "--tls-cert",
        str(tls.server_cert),
        "--tls-key",
        str(tls.server_key),
        *extra,
    ]


def test_serve_refuses_mutual_tls_without_a_worker_certificate(
    tmp_path: Path, tls: TlsFiles
) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "scheduler",
            *serve_args(tmp_path, tls, "--tls-client-ca", str(tls.ca)),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 2, out.stderr
    assert "--tls-worker-cert" in out.stderr
    worker = ("--tls-worker-cert", str(tls.worker_cert), "--tls-worker-key", str(tls.worker_key))
    client_ca = ("--tls-client-ca", str(tls.ca))
    for extra, field in (
        ((*client_ca, "--tls-worker-cert", str(tls.worker_cert)), "--tls-worker-cert"),
        # Without mutual TLS it is of no use: no key goes into user data for nothing.
        (worker, "--tls-worker-cert"),
        (
            (*client_ca, "--tls-worker-cert", str(tls.ca / "missing"), worker[2], worker[3]),
            "--tls-worker-cert",
        ),
    ):
        with pytest.raises(InvalidArgument) as info:
            config_from_args(parser().parse_args(serve_args(tmp_path, tls, *extra)))
        assert info.value.field == field, extra
    config = config_from_args(parser().parse_args(serve_args(tmp_path, tls, *client_ca, *worker)))
    assert config.tls is not None
    assert config.tls.for_workers().cert_chain == tls.worker_cert.read_bytes()
