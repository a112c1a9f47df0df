"""Chaos: 300 jobs through the local cloud and EC2-on-moto while everything goes wrong.

- spot nodes are preempted at random: the local cloud's hazard (``--preempt-rate``)
  and the :class:`~tests.support.node_runner.NodeRunner` on moto (a share of spot
  instances gets a notice, then is terminated), about 20% of spot nodes;
- 10% of cloud API calls are throttled and one local region has no capacity
  (``--faults``, counted from the ``injected fault`` lines of the serve log);
- ``skybatch serve`` is SIGKILLed at random moments (seeded) and started again on the
  same data dir and port, at least 3 times.

At the end every job SUCCEEDED, no attempt had two nodes (moto: instances per
``skybatch-attempt`` tag over all states; local cloud: node records per attempt),
no node is left running, and no interruption cost more than one checkpoint interval.

**Lost work.** The counter workload writes its state after every step, with a ledger
of which attempt ran each step. Each attempt runs in its own work dir on its node
(``work-<attempt>/checkpoint/state.json``), which stays there after the node is gone:

- *executed(k)* = the ``next_step`` of attempt k's own state file: every step it ran;
- *restored(k)* = the number of ledger entries of earlier attempts in attempt k's
  state: where the checkpoint it was given started it.

Work redone at attempt k is ``max(executed(j) for j < k) - restored(k)`` steps; times
the step length it must be at most the checkpoint interval (1 s) per interruption.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from libcloud.compute.types import NodeState

from adapters.base import MANAGED_BY_TAG, MANAGED_BY_VALUE
from adapters.local import LocalCloudConfig, LocalNodeDriver
from scheduler.api.client import SkybatchClient
from scheduler.domain import JobSpec, JobState, JobView, Resources, utcnow
from tests.e2e.helpers import counter_job
from tests.support import aws
from tests.support.moto_server import MotoServer, free_port
from tests.support.node_runner import ATTEMPT_TAG, NodeRunner

SEED = 20261126
JOBS = 300
BATCH = 50
SUBMIT_EVERY_S = 4.0
KILLS = 3
STEPS = 8
STEP_S = 0.25
CHECKPOINT_S = 1.0
NO_CAPACITY_REGION = "asia-east1"
#: Spot node life here is ~6 s (boot, 3 s of job, teardown): 1 - exp(-rate * 6 s)
#: is about 20% at this rate per hour.
LOCAL_PREEMPT_RATE = 200.0
TIMEOUT_S = 420.0


def serve_argv(data_dir: Path, bind: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "scheduler",
        "serve",
        "--bind",
        bind,
        "--data-dir",
        str(data_dir),
        "--cloud",
        "local",
        "--cloud",
        "aws",
        "--tick",
        "0.3",
        "--heartbeat-timeout",
        "15",
        "--restart-overhead",
        "2",
        "--vcpu-quota",
        "16",
        "--preempt-rate",
        str(LOCAL_PREEMPT_RATE),
        "--seed",
        str(SEED),
        "--grace",
        "2",
        "--faults",
        f"throttle=0.1,no-capacity={NO_CAPACITY_REGION},seed={SEED}",
    ]


def serve_env(moto: MotoServer) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        **aws.aws_environ(moto),
        "SKYBATCH_AWS_AMI": aws.MOTO_AMI,
        "SKYBATCH_AWS_REGION": moto.region,
        "SKYBATCH_AWS_ZONES": ",".join(aws.ZONES),
        "SKYBATCH_AWS_INSTANCE_TYPES": "t3.small",
        "SKYBATCH_AWS_ENDPOINT": f"http://{moto.host}:{moto.ec2_port}",
        "SKYBATCH_AWS_QUOTAS": f"aws/{moto.region}/vcpu=16,aws/{moto.region}/spot-vcpu=16",
    }


class Serve:
    """``skybatch serve`` as a subprocess that can be SIGKILLed and started again."""

    def __init__(self, data_dir: Path, bind: str, env: dict[str, str]) -> None:
        self.data_dir, self.bind, self.env = data_dir, bind, env
        self.log = data_dir / "serve.log"
        self.proc: subprocess.Popen[str] | None = None
        self.starts = 0

    def start(self) -> None:
        deadline = time.monotonic() + 30
        while True:
            with self.log.open("a") as log:
                proc = subprocess.Popen(
                    serve_argv(self.data_dir, self.bind),
                    stdout=subprocess.PIPE,
                    stderr=log,
                    text=True,
                    env=self.env,
                )
            assert proc.stdout is not None
            line = proc.stdout.readline()
            proc.stdout.close()
            if line.startswith("serving on "):
                self.proc, self.starts = proc, self.starts + 1
                return
            proc.wait(timeout=10)  # the port may not be free yet after a SIGKILL
            assert time.monotonic() < deadline, self.log.read_text()[-3000:]
            time.sleep(0.5)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


def job_specs(rng: random.Random) -> list[JobSpec]:
    specs = []
    for i in range(JOBS):
        clouds: tuple[str, ...] = (("aws",), ("local",), ())[i % 3]
        specs.append(
            replace(
                counter_job(f"chaos-{i}", STEPS, STEP_S),
                spot_allowed=rng.random() < 0.75,
                allowed_clouds=clouds,
                resources=Resources(vcpus=2, memory_gib=2),
                deadline=utcnow() + timedelta(hours=2),
                checkpoint_interval=timedelta(seconds=CHECKPOINT_S),
                client_request_id=f"chaos-{i}",
            )
        )
    return specs


def call(address: str, fn_name: str, *args: object, timeout_s: float = 60) -> object:
    """A client call, retried while serve is down or restarting."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with SkybatchClient(address, timeout_s=10) as c:
                return getattr(c, fn_name)(*args)
        except grpc.RpcError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


@pytest.fixture
def moto(moto_server: MotoServer) -> MotoServer:
    moto_server.reset()
    return moto_server


@pytest.fixture
def local_driver(tmp_path: Path) -> Iterator[LocalNodeDriver]:
    """Read-only view of the local cloud; destroys whatever is left at teardown."""
    d = LocalNodeDriver(LocalCloudConfig(state_dir=tmp_path / "serve" / "local-cloud"))
    yield d
    for node in d.list_nodes():
        if node.state != NodeState.TERMINATED:
            d.destroy_node(node)


def all_moto_instances(moto: MotoServer) -> list[dict[str, object]]:
    ec2 = aws.client(moto, "ec2")
    filters = [{"Name": f"tag:{MANAGED_BY_TAG}", "Values": [MANAGED_BY_VALUE]}]
    out = []
    for page in ec2.get_paginator("describe_instances").paginate(Filters=filters):
        for r in page["Reservations"]:
            out.extend(r["Instances"])
    return out


def tag(instance: dict[str, object], key: str) -> str:
    tags = instance.get("Tags") or []
    assert isinstance(tags, list)
    return next((t["Value"] for t in tags if t["Key"] == key), "")


def read_state(path: Path) -> dict[str, object] | None:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return raw if isinstance(raw, dict) else None


def redone_steps(job: JobView, node_dirs: dict[str, Path]) -> list[int]:
    """Steps redone at each attempt after the first that ran (see the module doc)."""
    out = []
    furthest: int | None = None
    for att in sorted(job.attempts, key=lambda a: a.number):
        node_dir = node_dirs.get(att.node_id)
        if node_dir is None:
            continue
        state = read_state(node_dir / f"work-{att.id}" / "checkpoint" / "state.json")
        if state is None:
            continue
        ledger = state["ledger"]
        assert isinstance(ledger, list)
        restored = sum(1 for e in ledger if e["attempt"] < att.number)
        executed = state["next_step"]
        assert isinstance(executed, int)
        if furthest is not None:
            out.append(max(0, furthest - restored))
        furthest = executed if furthest is None else max(furthest, executed)
    return out


@pytest.mark.timeout(TIMEOUT_S + 180)
def test_chaos(tmp_path: Path, moto: MotoServer, local_driver: LocalNodeDriver) -> None:
    started = time.monotonic()
    rng = random.Random(SEED)
    data_dir = tmp_path / "serve"
    data_dir.mkdir(exist_ok=True)
    address = f"127.0.0.1:{free_port()}"
    serve = Serve(data_dir, address, serve_env(moto))
    runner = NodeRunner(moto, tmp_path / "ec2-nodes", preempt_share=0.2, seed=SEED)
    specs = job_specs(rng)
    kill_at = sorted(rng.uniform(5, 60) for _ in range(KILLS))
    job_ids: list[str] = []
    runner.start()
    serve.start()
    try:
        t0 = time.monotonic()
        batches = [specs[i : i + BATCH] for i in range(0, JOBS, BATCH)]
        next_submit = 0.0
        while batches or kill_at:
            now = time.monotonic() - t0
            if batches and now >= next_submit:
                submitted = call(address, "submit", batches.pop(0))
                assert isinstance(submitted, list)
                job_ids += [job.id for job, _ in submitted]
                next_submit = now + SUBMIT_EVERY_S
            if kill_at and now >= kill_at[0]:
                print(f"chaos: SIGKILL serve at {now:.0f}s", file=sys.stderr)
                kill_at.pop(0)
                serve.kill()
                time.sleep(rng.uniform(0.0, 2.0))
                serve.start()
            time.sleep(0.1)
        assert len(set(job_ids)) == JOBS

        deadline = time.monotonic() + TIMEOUT_S
        while True:
            jobs = call(address, "list_all")
            assert isinstance(jobs, list)
            if all(j.state.terminal for j in jobs):
                break
            progress = Counter(j.state.name for j in jobs)
            assert time.monotonic() < deadline, progress
            print(f"chaos: {time.monotonic() - started:.0f}s {dict(progress)}", file=sys.stderr)
            time.sleep(2.0)
        views: list[JobView] = [call(address, "get", j) for j in job_ids]  # type: ignore[misc]

        def live_local() -> list[str]:
            return [n.id for n in local_driver.list_nodes() if n.state != NodeState.TERMINATED]

        def live_moto() -> list[str]:
            return [
                i["InstanceId"] for i in aws.instances(moto, {MANAGED_BY_TAG: MANAGED_BY_VALUE})
            ]

        settle = time.monotonic() + 30
        while (live_local() or live_moto()) and time.monotonic() < settle:
            time.sleep(0.5)
        left_running = len(live_local()) + len(live_moto())
    finally:
        serve.stop()
        runner.stop()

    # -- counts -------------------------------------------------------------------------
    states = Counter(v.state.name for v in views)
    moto_all = all_moto_instances(moto)
    moto_per_attempt = Counter(tag(i, ATTEMPT_TAG) for i in moto_all)
    local_nodes = local_driver.list_nodes()
    local_per_attempt = Counter(n.extra["tags"].get(ATTEMPT_TAG, "") for n in local_nodes)
    duplicates = sum(n - 1 for n in moto_per_attempt.values() if n > 1) + sum(
        n - 1 for n in local_per_attempt.values() if n > 1
    )
    local_spot = [n for n in local_nodes if n.extra["market"] == "spot"]
    local_preempted = [n for n in local_spot if n.extra["preempted"]]
    moto_spot = [i for i in runner.instances.values() if i.spot]
    log_text = serve.log.read_text()
    throttled = len(re.findall(r"injected fault: throttled", log_text))
    capacity = len(re.findall(r"injected fault: capacity", log_text))
    node_dirs = {n.id: Path(n.extra["node_dir"]) for n in local_nodes}
    node_dirs.update({i.instance_id: i.node_dir for i in runner.instances.values()})
    redone = {v.id: redone_steps(v, node_dirs) for v in views}
    interruptions = [r for rs in redone.values() for r in rs]
    worst = max(interruptions, default=0)
    print(
        f"\nchaos: {len(views)} jobs {dict(states)} in {time.monotonic() - started:.0f}s; "
        f"serve started {serve.starts}x (SIGKILLed {serve.starts - 1}x)\n"
        f"  attempts {sum(len(v.attempts) for v in views)}, "
        f"preemptions seen by jobs {sum(v.preemptions for v in views)}\n"
        f"  spot nodes preempted: local {len(local_preempted)}/{len(local_spot)}, "
        f"ec2 {len(runner.preempted)}/{len(moto_spot)}\n"
        f"  faults injected: throttled {throttled}, capacity {capacity}\n"
        f"  nodes: local {len(local_nodes)}, ec2 {len(moto_all)}; duplicate launches "
        f"{duplicates}; left running {left_running}\n"
        f"  lost work: {len(interruptions)} resumed attempts, worst {worst} steps "
        f"({worst * STEP_S:.2f}s, limit {CHECKPOINT_S:.0f}s)"
    )
    assert states == {"SUCCEEDED": JOBS}, [
        (v.id, v.state.name, v.state_reason) for v in views if v.state is not JobState.SUCCEEDED
    ][:10]
    assert serve.starts - 1 >= 3
    assert duplicates == 0, [a for a, n in (moto_per_attempt + local_per_attempt).items() if n > 1]
    assert left_running == 0
    assert runner.preempted and local_preempted, "no preemption happened: the test tests nothing"
    assert throttled > 0 and capacity > 0
    assert all(r * STEP_S <= CHECKPOINT_S for r in interruptions), {
        j: r for j, r in redone.items() if any(x * STEP_S > CHECKPOINT_S for x in r)
    }
