"""Admin quota caps over real gRPC on a port with a real SQLite store: the planner keeps
to a capped pool (the whole loop on the local cloud), the admin role is required, bad
input is INVALID_ARGUMENT naming the field, and the ``skybatch quota`` CLI."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace

import grpc
import pytest

from scheduler.api.admin_client import AdminClient
from scheduler.api.auth import AuthMode
from scheduler.api.channel import PLAINTEXT
from scheduler.api.client import SkybatchClient
from scheduler.cli.main import main
from scheduler.domain import JobState, Resources
from scheduler.service import Service
from scheduler.tenancy import Role
from tests.conftest import ServiceFactory
from tests.integration.test_api import spec
from tests.integration.test_auth import code_of, token_for

POOL = "local/us-central1/vcpu"
LIVE = (JobState.PLANNED, JobState.LAUNCHING, JobState.RUNNING)


def wait_for(what: str, check: Callable[[], bool], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def test_a_capped_pool_runs_at_most_its_cap_until_cleared(
    service_factory: ServiceFactory,
) -> None:
    svc = service_factory()
    with AdminClient(svc.address, token="", tls=PLAINTEXT) as admin:
        capped = admin.set_quota_cap(POOL, 2, note="test")
        assert capped.limits.cap == 2 and capped.limits.effective == 2
        assert capped.cap is not None and capped.cap.set_by == "default"
    job = spec(
        command=("python", "-c", "import time; time.sleep(120)"),
        resources=Resources(vcpus=2, memory_gib=2),
        allowed_regions=("us-central1",),
    )
    with SkybatchClient(svc.address, token="", tls=PLAINTEXT) as c:
        ids = [j.id for j, _ in c.submit([replace(job, name=n) for n in ("a", "b", "c")])]

        def states() -> list[JobState]:
            return [c.get(i).state for i in ids]

        wait_for("one job running", lambda: JobState.RUNNING in states())
        end = time.monotonic() + 3  # a few ticks: the others stay out of the pool
        while time.monotonic() < end:
            assert sum(s in LIVE for s in states()) == 1
            time.sleep(0.3)
        waiting = [c.get(i) for i in ids if c.get(i).state is JobState.PENDING]
        assert len(waiting) == 2
        # Planned after the running one gives its 2 vCPUs back (the cap leaves no room).
        assert all(w.state_reason.startswith("waiting: planned to start later") for w in waiting)
        with AdminClient(svc.address, token="", tls=PLAINTEXT) as admin:
            [us] = [q for q in admin.quotas() if q.limits.pool == POOL]
            assert us.in_use == 2 and us.limits.effective == 2
            cleared = admin.clear_quota_cap(POOL)
            assert cleared.limits.cap is None and cleared.limits.effective == 16
        wait_for("all three running", lambda: states() == [JobState.RUNNING] * 3)
        for i in ids:
            c.cancel(i)


def test_a_cap_above_the_clouds_limit_does_not_raise_it(api_service: Service) -> None:
    with AdminClient(api_service.address, token="", tls=PLAINTEXT) as admin:
        status = admin.set_quota_cap(POOL, 1000)
        assert status.limits.cloud == 16 and status.limits.cap == 1000
        assert status.limits.effective == 16
    assert {q.pool: q.capacity for q in api_service.catalog.quotas()}[POOL] == 16


@pytest.fixture
def secured(service_factory: ServiceFactory) -> Service:
    return service_factory(control_loop=False, auth=AuthMode.TOKEN, token_cache_s=0.2)


def test_admin_role_required_and_bad_input_names_the_field(secured: Service) -> None:
    user = token_for(secured, "alice")
    admin_token = token_for(secured, "root", Role.ADMIN)
    with AdminClient(secured.address, token=user, tls=PLAINTEXT) as c:
        for call in (c.quotas, lambda: c.set_quota_cap(POOL, 1), lambda: c.clear_quota_cap(POOL)):
            assert code_of(call) is grpc.StatusCode.PERMISSION_DENIED
    with AdminClient(secured.address, token=admin_token, tls=PLAINTEXT) as c:
        pools = {q.limits.pool for q in c.quotas()}
        assert POOL in pools and all(q.cap is None for q in c.quotas())
        for pool, limit, field in (
            (POOL, -1.0, "limit"),
            (POOL, float("inf"), "limit"),
            (POOL, float("nan"), "limit"),
            ("", 1.0, "pool"),
            ("x" * 201, 1.0, "pool"),
            ("local/us-central1/vcpus", 1.0, "pool"),
            ("aws/us-east-1/vcpu", 1.0, "pool"),
        ):
            with pytest.raises(grpc.RpcError) as info:
                c.set_quota_cap(pool, limit)
            assert info.value.code() is grpc.StatusCode.INVALID_ARGUMENT
            assert info.value.details().startswith(f"{field}:"), info.value.details()
        with pytest.raises(grpc.RpcError) as info:
            c.set_quota_cap("local/us-central1/vcpus", 1)
        assert "did you mean local/us-central1/vcpu" in info.value.details()
        with pytest.raises(grpc.RpcError) as info:
            c.set_quota_cap(POOL, 1, note="n" * 201)
        assert info.value.details().startswith("note:")
        status = c.set_quota_cap(POOL, 3, note="headroom")
        assert status.cap is not None and status.cap.set_by == "root"
        assert status.cap.note == "headroom"
        assert c.clear_quota_cap(POOL).limits.cap is None
        assert c.clear_quota_cap(POOL).limits.cap is None  # idempotent
        assert code_of(c.clear_quota_cap, "nope/x/vcpu") is grpc.StatusCode.INVALID_ARGUMENT


def cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_quota_list_set_clear(secured: Service, capsys: pytest.CaptureFixture[str]) -> None:
    server = ("--server", secured.address)
    a = ("--token", token_for(secured, "root", Role.ADMIN), *server)
    code, out, _ = cli(capsys, "quota", "set", POOL, "2", "--note", "team share", *a)
    assert code == 0 and POOL in out and "team share" in out
    code, out, _ = cli(capsys, "quota", "list", *a)
    assert code == 0 and "local/europe-west4/vcpu" in out and "root" in out
    code, out, _ = cli(capsys, "quota", "set", "local/europe-west4/vcpu", "99", *a)
    assert code == 0 and "above the cloud's limit" in out
    for bad, field in (
        (("quota", "set", POOL, "-1"), "LIMIT"),
        (("quota", "set", POOL, "lots"), "LIMIT"),
        (("quota", "set", POOL, "inf"), "LIMIT"),
        (("quota", "set", "bad pool", "1"), "POOL"),
        (("quota", "set", "local/us-central1/vcpus", "1"), "pool"),
    ):
        code, _, err = cli(capsys, *bad, *a)
        assert code == 2 and field in err, (bad, err)
    code, out, _ = cli(capsys, "quota", "clear", POOL, *a)
    assert code == 0 and "cleared" in out
    user = ("--token", token_for(secured, "alice"), *server)
    code, _, err = cli(capsys, "quota", "list", *user)
    assert code == 1 and "admin" in err
