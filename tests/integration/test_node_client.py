"""A client in another language: Node.js (@grpc/grpc-js, @grpc/proto-loader loading
our .proto files, no generated code) submits, watches and cancels jobs against a real
server with the control loop and the local cloud."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from scheduler.api.client import SkybatchClient
from scheduler.domain import JobState
from tests.conftest import ServiceFactory

ROOT = Path(__file__).resolve().parents[2]
NODE_CLIENT = ROOT / "tests" / "clients" / "node"
STATE = {f"JOB_STATE_{s.value}": s for s in JobState}


def test_node_client_submits_watches_and_cancels(service_factory: ServiceFactory) -> None:
    # Installs the npm packages from the lock file unless `make test` already did.
    subprocess.run(["bash", str(ROOT / "scripts" / "node-deps.sh")], check=True, timeout=300)
    svc = service_factory(control_loop=True)
    run = subprocess.run(
        ["node", "client.mjs", svc.address, "--python", sys.executable, "--tenant", "nodejs"],
        cwd=NODE_CLIENT,
        capture_output=True,
        text=True,
        timeout=110,
    )
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    ids = [out["submitted"], *out["batch"]]
    long_id = out["batch"][1]
    assert len(set(ids)) == 3 and out["created"] == [True, True, True]
    assert out["cancelled"] == long_id

    # What the Node client saw of each job...
    assert out["final"][long_id]["state"] == "JOB_STATE_CANCELLED"
    for job_id in ids[:2]:
        assert out["final"][job_id] == {
            "state": "JOB_STATE_SUCCEEDED",
            "exit_code": 0,
            "attempts": 1,
        }

    # ...is what the server says, through the Python client.
    with SkybatchClient(svc.address, tenant="nodejs") as c:
        jobs = {j.id: j for j in c.list_all()}
        assert set(jobs) == set(ids)
        assert jobs[long_id].state is JobState.CANCELLED
        assert jobs[long_id].attempts and jobs[long_id].attempts[0].node_id
        for job_id in ids[:2]:
            assert jobs[job_id].state is JobState.SUCCEEDED and jobs[job_id].exit_code == 0
        assert all(j.spec.labels == {"client": "node"} for j in jobs.values())
        assert jobs[ids[0]].spec.command[2] == "scheduler.workloads.counter"

    # The events it watched are the server's events of those jobs, in order, all of them.
    server_events = svc.jobs.events_after("nodejs", 0, ids)
    seen = [
        (e["cursor"], e["job_id"], e["from_state"], e["to_state"], e["reason"])
        for e in out["events"]
    ]
    expected = [
        (
            str(e.seq),
            e.job_id,
            f"JOB_STATE_{e.from_state.value}" if e.from_state else "JOB_STATE_UNSPECIFIED",
            f"JOB_STATE_{e.to_state.value}",
            e.reason,
        )
        for e in server_events
    ]
    assert seen == expected
    assert [STATE[e[3]] for e in seen if e[1] == long_id][-1] is JobState.CANCELLED
    assert {STATE[e[3]] for e in seen if e[1] == long_id} >= {JobState.RUNNING}
