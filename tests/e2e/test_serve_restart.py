"""``skybatch serve`` killed with SIGKILL while jobs run, then started again: no job
lost, none launched twice, every node adopted or cleaned up."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from libcloud.compute.types import NodeState

from adapters.local import LocalCloudConfig, LocalNodeDriver
from scheduler.api.client import SkybatchClient
from scheduler.domain import JobState
from tests.e2e.helpers import counter_job, running, terminal, wait_for

SERVE_FLAGS = ["--tick", "0.3", "--heartbeat-timeout", "15", "--restart-overhead", "2"]


def start_serve(data_dir: Path, bind: str) -> tuple[subprocess.Popen[str], str]:
    argv = [sys.executable, "-m", "scheduler", "serve", "--bind", bind, "--data-dir", str(data_dir)]
    with (data_dir / "serve.log").open("a") as log:
        proc = subprocess.Popen(
            [*argv, *SERVE_FLAGS],
            stdout=subprocess.PIPE,
            stderr=log,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    assert line.startswith("serving on "), (data_dir / "serve.log").read_text()
    return proc, line.split()[-1]


@pytest.fixture
def driver(tmp_path: Path) -> Iterator[LocalNodeDriver]:
    """Read-only view of the local cloud; destroys whatever is left at teardown."""
    d = LocalNodeDriver(LocalCloudConfig(state_dir=tmp_path / "local-cloud"))
    yield d
    for node in d.list_nodes():
        if node.state != NodeState.TERMINATED:
            d.destroy_node(node)


def test_sigkill_and_restart_loses_nothing_and_launches_nothing_twice(
    tmp_path: Path, driver: LocalNodeDriver
) -> None:
    proc, address = start_serve(tmp_path, "127.0.0.1:0")
    try:
        with SkybatchClient(address) as c:
            c.wait_ready()
            jobs = [j for j, _ in c.submit([counter_job(f"j{i}", 30, 0.3) for i in range(3)])]
            for j in jobs:
                wait_for(c, j.id, running)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert proc.stdout is not None
        proc.stdout.close()
        time.sleep(1.0)  # workers keep running and retrying meanwhile
        assert len([n for n in driver.list_nodes() if n.state != NodeState.TERMINATED]) == 3

        proc, address2 = start_serve(tmp_path, address)
        assert address2 == address
        with SkybatchClient(address) as c:
            done = [wait_for(c, j.id, terminal, timeout_s=60) for j in jobs]
        assert [d.state for d in done] == [JobState.SUCCEEDED] * 3
        assert [len(d.attempts) for d in done] == [1, 1, 1], "a running job was launched twice"
        assert len(driver.list_nodes()) == 3
        deadline = time.monotonic() + 15
        while any(n.state != NodeState.TERMINATED for n in driver.list_nodes()):
            assert time.monotonic() < deadline, "nodes left running after their jobs ended"
            time.sleep(0.3)
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert proc.stdout is not None
        proc.stdout.close()
