"""Bearer tokens, the admin role, tenant isolation and limits, over real gRPC on a port
with a real SQLite store (``--auth token``), and the ``skybatch tenant`` CLI."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from scheduler.api.admin_client import AdminClient
from scheduler.api.auth import AuthMode
from scheduler.api.channel import PLAINTEXT
from scheduler.api.client import SkybatchClient
from scheduler.api.gen.skybatch.v1 import (
    admin_pb2,
    admin_pb2_grpc,
    jobs_pb2,
    jobs_pb2_grpc,
    reports_pb2,
    reports_pb2_grpc,
    worker_pb2,
    worker_pb2_grpc,
)
from scheduler.api.report_client import ReportClient
from scheduler.cli.main import main, parser
from scheduler.cli.serve import config_from_args
from scheduler.domain import JobState, utcnow
from scheduler.errors import InvalidArgument
from scheduler.service import Service
from scheduler.store.engine import sqlite_url
from scheduler.tenancy import Role
from scheduler.tokens import TOKEN_METADATA_KEY, attempt_token
from tests.conftest import ServiceFactory
from tests.integration.test_api import spec

SAMPLE = Path(__file__).parents[1] / "data" / "billing" / "focus_1.0_sample.csv"


def skybatch(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scheduler", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


@pytest.fixture
def secured(service_factory: ServiceFactory) -> Service:
    return service_factory(control_loop=False, auth=AuthMode.TOKEN, token_cache_s=0.2)


def token_for(svc: Service, tenant: str, role: Role = Role.USER) -> str:
    if svc.tenants.tenant(tenant) is None:
        svc.tenants.create_tenant(tenant, role, utcnow())
    _, token = svc.tenants.create_token(tenant, utcnow())
    return token


def client(svc: Service, token: str, **kw: Any) -> SkybatchClient:
    return SkybatchClient(svc.address, token=token, tls=PLAINTEXT, **kw)


def code_of(call: Callable[..., object], *args: Any, **kwargs: Any) -> grpc.StatusCode:
    with pytest.raises(grpc.RpcError) as info:
        call(*args, **kwargs)
    code: grpc.StatusCode = info.value.code()
    return code


def test_missing_or_bad_credentials_are_unauthenticated_on_every_tenant_service(
    secured: Service,
) -> None:
    good = token_for(secured, "alice")
    token_id = good.split("_")[1]
    wrong_secret = f"sbt_{token_id}_{'x' * 43}"
    with grpc.insecure_channel(secured.address) as ch:
        calls: dict[str, Callable[[Any], object]] = {
            "GetJob": lambda md: jobs_pb2_grpc.JobServiceStub(ch).GetJob(
                jobs_pb2.GetJobRequest(job_id="j-x"), metadata=md, timeout=10
            ),
            "ListTenants": lambda md: admin_pb2_grpc.AdminServiceStub(ch).ListTenants(
                admin_pb2.ListTenantsRequest(), metadata=md, timeout=10
            ),
            "SlaReport": lambda md: reports_pb2_grpc.ReportServiceStub(ch).SlaReport(
                reports_pb2.SlaReportRequest(), metadata=md, timeout=10
            ),
        }
        bad_metadata: list[tuple[tuple[str, str], ...]] = [
            (),
            (("x-skybatch-tenant", "alice"),),
            (("authorization", "Bearer "),),
            (("authorization", f"Basic {good}"),),
            (("authorization", "Bearer sbt_000000000000_" + "y" * 43),),
            (("authorization", f"Bearer {wrong_secret}"),),
            (("authorization", f"Bearer {good[:-1]}"),),
            (("authorization", f"Bearer {attempt_token('s', 'a-1')}"),),
        ]
        for name, call in calls.items():
            for md in bad_metadata:
                assert code_of(call, md) is grpc.StatusCode.UNAUTHENTICATED, (name, md)
        # The good token gets past authentication (NOT_FOUND: no such job).
        md = (("authorization", f"Bearer {good}"),)
        assert code_of(calls["GetJob"], md) is grpc.StatusCode.NOT_FOUND
        # Health stays open.
        from grpc_health.v1 import health_pb2, health_pb2_grpc

        status = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
        assert status.status == health_pb2.HealthCheckResponse.SERVING


def test_the_token_names_the_tenant_whatever_the_header_says(secured: Service) -> None:
    with client(secured, token_for(secured, "alice"), tenant="mallory") as alice:
        [(job, _)] = alice.submit([spec()])
        assert job.tenant == "alice"
        assert alice.get(job.id).tenant == "alice"


def test_another_tenants_job_is_not_found_by_every_job_method(secured: Service) -> None:
    with (
        client(secured, token_for(secured, "alice")) as alice,
        client(secured, token_for(secured, "bob")) as bob,
    ):
        [(theirs, _)] = alice.submit([spec(name="alice-job")])
        [(mine, _)] = bob.submit([spec(name="bob-job")])
        for call in (bob.get, bob.cancel, bob.explain_job):
            assert code_of(call, theirs.id) is grpc.StatusCode.NOT_FOUND
        assert [j.id for j in bob.list_all()] == [mine.id]
        # WatchJobs: bob's stream shows bob's job only, even when asked for alice's.
        seen: list[str] = []
        with grpc.insecure_channel(secured.address) as ch:
            stub = jobs_pb2_grpc.JobServiceStub(ch)
            md = (*bob.metadata, ("authorization", f"Bearer {token_for(secured, 'bob')}"))
            for job_ids in ([], [theirs.id]):
                stream = stub.WatchJobs(
                    jobs_pb2.WatchJobsRequest(job_ids=job_ids), metadata=md, timeout=1.5
                )
                with pytest.raises(grpc.RpcError) as info:
                    seen.extend(e.job_id for e in stream)
                assert info.value.code() is grpc.StatusCode.DEADLINE_EXCEEDED
        assert seen and set(seen) == {mine.id}
        assert alice.get(theirs.id).state is JobState.PENDING  # bob's cancel did nothing


def test_admin_role_is_required_for_the_admin_service(secured: Service) -> None:
    user = token_for(secured, "alice")
    admin = token_for(secured, "root", Role.ADMIN)
    with AdminClient(secured.address, token=user, tls=PLAINTEXT) as c:
        for call in (c.tenants, c.cost_models, lambda: c.ingest_billing(SAMPLE)):
            assert code_of(call) is grpc.StatusCode.PERMISSION_DENIED
    with AdminClient(secured.address, token=admin, tls=PLAINTEXT) as c:
        assert {t.name for t in c.tenants()} == {"alice", "root"}
        # The bidi ingest stream runs under the admin principal to its report.
        report = c.ingest_billing(SAMPLE)
        assert report.rows > 0
        bob = c.create_tenant("bob")
        assert bob.role is Role.USER
        info, token = c.create_token("bob", description="ci")
        assert token.startswith(f"sbt_{info.id}_") and info.description == "ci"
        listed = c.tokens("bob")
        assert [t.id for t in listed] == [info.id]
        assert code_of(lambda: c.create_tenant("bob")) is grpc.StatusCode.FAILED_PRECONDITION
        assert code_of(lambda: c.create_token("nobody")) is grpc.StatusCode.NOT_FOUND
        assert code_of(lambda: c.create_tenant("bad name!")) is grpc.StatusCode.INVALID_ARGUMENT
    with client(secured, token) as bob_client:
        assert bob_client.list_all() == []


def test_the_secret_is_stored_hashed_only(secured: Service) -> None:
    token = token_for(secured, "alice")
    secret = token.split("_", 2)[2]
    raw = Path(secured.config.data_dir / "skybatch.db").read_bytes()
    wal = secured.config.data_dir / "skybatch.db-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert secret.encode() not in raw


def test_a_revoked_or_expired_token_stops_working_within_the_cache_time(secured: Service) -> None:
    admin = token_for(secured, "root", Role.ADMIN)
    with AdminClient(secured.address, token=admin, tls=PLAINTEXT) as c:
        c.create_tenant("alice")
        info, token = c.create_token("alice")
        _, short_token = c.create_token("alice", expires_at=utcnow() + timedelta(seconds=1))
        with client(secured, token) as alice, client(secured, short_token) as brief:
            assert alice.list_all() == [] and brief.list_all() == []
            revoked = c.revoke_token(info.id)
            assert revoked.revoked_at is not None
            assert c.revoke_token(info.id).revoked_at == revoked.revoked_at  # idempotent
            time.sleep(1.1)  # > the 0.2 s cache, > the 1 s lifetime
            for gone in (alice, brief):
                assert code_of(gone.list_all) is grpc.StatusCode.UNAUTHENTICATED
        assert code_of(lambda: c.revoke_token("0123456789ab")) is grpc.StatusCode.NOT_FOUND


def test_tenant_and_attempt_tokens_do_not_cross_over(secured: Service) -> None:
    token = token_for(secured, "alice")
    with client(secured, token) as alice:
        [(job, _)] = alice.submit([spec()])
    with grpc.insecure_channel(secured.address) as ch:
        worker = worker_pb2_grpc.WorkerServiceStub(ch)
        # A tenant token is no attempt token, wherever it is put.
        for md in (
            (("authorization", f"Bearer {token}"),),
            ((TOKEN_METADATA_KEY, token),),
        ):
            request = worker_pb2.GetAssignmentRequest(attempt_id="a-1")
            assert (
                code_of(worker.GetAssignment, request, metadata=md, timeout=10)
                is grpc.StatusCode.UNAUTHENTICATED
            )
        # An attempt token opens nothing but its attempt's worker calls.
        at = attempt_token(secured.attempts.secret("attempt-token-hmac"), "a-1")
        jobs = jobs_pb2_grpc.JobServiceStub(ch)
        for md in ((("authorization", f"Bearer {at}"),), ((TOKEN_METADATA_KEY, at),)):
            get = jobs_pb2.GetJobRequest(job_id=job.id)
            assert (
                code_of(jobs.GetJob, get, metadata=md, timeout=10)
                is grpc.StatusCode.UNAUTHENTICATED
            )


def test_a_user_reports_on_its_own_tenant_only(secured: Service) -> None:
    with ReportClient(secured.address, token=token_for(secured, "alice"), tls=PLAINTEXT) as c:
        report, _ = c.sla()
        assert report is not None
        assert code_of(lambda: c.sla(tenant="bob")) is grpc.StatusCode.PERMISSION_DENIED


def test_rate_limit_per_tenant_is_resource_exhausted_with_a_retry_hint(
    service_factory: ServiceFactory,
) -> None:
    svc = service_factory(control_loop=False, rate_limit=2.0, rate_burst=4)
    with (
        SkybatchClient(svc.address, tenant="busy", token="", tls=PLAINTEXT) as busy,
        SkybatchClient(svc.address, tenant="calm", token="", tls=PLAINTEXT) as calm,
    ):
        for _ in range(4):
            busy.list_all()
        with pytest.raises(grpc.RpcError) as info:
            busy.list_all()
        assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert "retry in" in info.value.details() and "'busy'" in info.value.details()
        assert calm.list_all() == []  # another tenant has its own bucket
        time.sleep(0.6)  # 2/s refills one call
        assert busy.list_all() == []


def test_oversized_requests_are_resource_exhausted(service_factory: ServiceFactory) -> None:
    svc = service_factory(control_loop=False, max_message_bytes=64 * 1024)
    with SkybatchClient(svc.address, token="", tls=PLAINTEXT) as c:
        with pytest.raises(grpc.RpcError) as info:
            c.submit([spec(command=("echo", "x" * 100_000))])
        assert info.value.code() is grpc.StatusCode.RESOURCE_EXHAUSTED
        assert c.list_all() == []
        c.submit([spec()])  # a normal request still goes through


@pytest.fixture
def cli_env(secured: Service) -> dict[str, str]:
    """The environment of a CLI user of ``secured`` with no credentials yet."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKYBATCH_")}
    env["SKYBATCH_SERVER"] = secured.address
    return env


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """``skybatch ARGV`` in this process (a subprocess costs seconds of imports)."""
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_bootstrap_then_tenants_tokens_and_budgets(
    secured: Service, cli_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(secured.config.data_dir / "skybatch.db")
    # As an operator runs it on the server's host: a real process, no server involved.
    out = skybatch("tenant", "create", "root", "--admin", "--db-url", url, env=cli_env)
    assert out.returncode == 0, out.stderr
    admin = out.stdout.strip().splitlines()[-1]
    assert admin.startswith("sbt_")
    # A real process with the token in its environment, then a flag after the subcommand.
    listed = skybatch("tenant", "list", env={**cli_env, "SKYBATCH_TOKEN": admin})
    assert listed.returncode == 0 and "root" in listed.stdout and "admin" in listed.stdout

    server = ("--server", secured.address)
    code, _, err = cli(capsys, "tenant", "list", *server)
    assert code == 1 and "--token" in err
    a = ("--token", admin, *server)
    assert cli(capsys, "tenant", "create", "alice", *a)[0] == 0
    code, stdout, err = cli(capsys, "tenant", "token", "create", "alice", "--expires-in", "30d", *a)
    assert code == 0, err
    alice_token = stdout.strip().splitlines()[-1]
    token_id = alice_token.split("_")[1]
    code, stdout, _ = cli(capsys, "tenant", "token", "list", "alice", *a)
    assert token_id in stdout and alice_token.split("_", 2)[2] not in stdout
    # Before the subcommand works too.
    assert cli(capsys, "--token", alice_token, "jobs", *server)[0] == 0
    code, _, err = cli(capsys, "tenant", "list", "--token", alice_token, *server)
    assert code == 1 and "admin" in err

    code, _, err = cli(capsys, "tenant", "budget", "set", "alice", "12.50", "--window", "week", *a)
    assert code == 0, err
    code, stdout, _ = cli(capsys, "tenant", "budget", "show", *a)
    assert "alice" in stdout and "12.50" in stdout and "week" in stdout
    for bad in (
        ("tenant", "budget", "set", "alice", "lots"),
        ("tenant", "budget", "set", "alice", "5", "--window", "fortnight"),
        ("tenant", "token", "revoke", "not-an-id"),
        ("tenant", "create", "bad name!"),
        ("tenant", "token", "create", "alice", "--expires-in", "soon"),
    ):
        code, _, err = cli(capsys, *bad, *a)
        assert code == 2, (bad, err)

    code, stdout, _ = cli(capsys, "tenant", "token", "revoke", token_id, *a)
    assert code == 0 and "revoked" in stdout
    time.sleep(0.5)
    code, _, err = cli(capsys, "jobs", "--token", alice_token, *server)
    assert code == 1 and "token" in err
    assert "SKYBATCH_TOKEN" not in os.environ  # the flag set it for the command only


def test_serve_refuses_auth_none_off_loopback(tmp_path: Path) -> None:
    out = skybatch("serve", "--bind", "0.0.0.0:0", "--data-dir", str(tmp_path))
    assert out.returncode == 2 and "--auth" in out.stderr
    for args, needle in (
        (("--auth", "none"), "--insecure"),
        (("--auth", "token", "--tls-cert", str(tmp_path / "missing.pem")), "--tls-cert"),
        (("--tls-cert", str(tmp_path / "x"), "--tls-key", str(tmp_path / "y")), "--tls-cert"),
        (("--rate-limit", "-1"), "--rate-limit"),
    ):
        argv = ["serve", "--bind", "0.0.0.0:0", "--data-dir", str(tmp_path), "--auth", "token"]
        with pytest.raises(InvalidArgument) as info:
            config_from_args(parser().parse_args([*argv, *args]))
        assert info.value.field == needle or needle in str(info.value), args
    loopback = parser().parse_args(["serve", "--bind", "127.0.0.1:0", "--data-dir", str(tmp_path)])
    assert config_from_args(loopback).auth is AuthMode.NONE
    insecure = parser().parse_args(
        [
            "serve",
            "--bind",
            "0.0.0.0:0",
            "--auth",
            "none",
            "--insecure",
            "--data-dir",
            str(tmp_path),
        ]
    )
    assert config_from_args(insecure).auth is AuthMode.NONE
