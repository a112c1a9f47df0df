"""The ``skybatch`` CLI as a user runs it: a real process against a real server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scheduler.api.client import SkybatchClient
from scheduler.domain import JobState
from scheduler.service import Service

JOB = """
name: hello
labels: {team: cli}
resources: {cpus: 1, memory: 2}
run: python -c "print('hi')"
estimated_runtime: 1m
deadline: +2h
request_id: cli-1
"""


def skybatch(*args: str, server: str = "") -> subprocess.CompletedProcess[str]:
    extra = ["--server", server] if server and args[0] not in ("serve", "demo") else []
    return subprocess.run(
        [sys.executable, "-m", "scheduler", *args, *extra],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_submit_list_get_cancel(api_service: Service, tmp_path: Path) -> None:
    f = tmp_path / "job.yaml"
    f.write_text(JOB)
    out = skybatch("submit", str(f), server=api_service.address)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("submitted j-")
    job_id = out.stdout.split()[1]
    again = skybatch("submit", str(f), server=api_service.address)
    assert again.returncode == 0 and again.stdout.split()[:2] == ["exists", job_id]

    listed = skybatch("jobs", "--label", "team=cli", server=api_service.address)
    assert listed.returncode == 0 and job_id in listed.stdout and "PENDING" in listed.stdout
    got = skybatch("get", job_id, server=api_service.address)
    assert got.returncode == 0 and "hello" in got.stdout
    cancelled = skybatch("cancel", job_id, server=api_service.address)
    assert cancelled.returncode == 0 and "CANCELLED" in cancelled.stdout
    with SkybatchClient(api_service.address) as c:
        assert c.get(job_id).state is JobState.CANCELLED


def test_bad_input_exits_2_naming_the_field(api_service: Service, tmp_path: Path) -> None:
    f = tmp_path / "bad.yaml"
    f.write_text(JOB.replace("cpus: 1", "cpus: -3"))
    out = skybatch("submit", str(f), server=api_service.address)
    assert out.returncode == 2
    assert "spec.resources.vcpus" in out.stderr
    f.write_text(JOB.replace("deadline: +2h", "deadline: tomorrow"))
    out = skybatch("submit", str(f), server=api_service.address)
    assert out.returncode == 2 and "deadline" in out.stderr
    out = skybatch("submit", str(tmp_path / "missing.yaml"), server=api_service.address)
    assert out.returncode == 2 and "missing.yaml" in out.stderr
    out = skybatch("jobs", "--state", "sleepy", server=api_service.address)
    assert out.returncode == 2 and "--state" in out.stderr
    with SkybatchClient(api_service.address) as c:
        assert c.list_all() == []


def test_unreachable_server_is_a_clear_error() -> None:
    out = skybatch("jobs", server="127.0.0.1:1")
    assert out.returncode == 1
    assert "cannot reach 127.0.0.1:1" in out.stderr


def test_argparse_errors_exit_2() -> None:
    out = skybatch("submit")
    assert out.returncode == 2 and "usage" in out.stderr


def test_serve_on_a_busy_port_is_a_clear_error(api_service: Service, tmp_path: Path) -> None:
    out = skybatch("serve", "--bind", api_service.address, "--data-dir", str(tmp_path / "d"))
    assert out.returncode == 1
    assert f"cannot listen on {api_service.address}" in out.stderr
    assert "Traceback" not in out.stderr
