"""The worker agent as a real subprocess against a real gRPC server on port 0.

The in-test servicer records every call and hands out assignments that run the
counter workload with a local:// checkpoint store under tmp_path.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest

from adapters.checkpoints import checkpoint_store_from_uri
from scheduler.api.gen.skybatch.v1 import worker_pb2, worker_pb2_grpc
from scheduler.workloads.counter import expected_digest

REPO = Path(__file__).resolve().parents[2]
TOKEN = "tok-0123456789-do-not-log"
JOB = "job-42"
TOKEN_KEY = "x-skybatch-attempt-token"

pytestmark = pytest.mark.timeout(20)


@dataclass
class RecordingService(worker_pb2_grpc.WorkerServiceServicer):
    """Hands out ``assignments`` and records what the agent says."""

    assignments: dict[str, worker_pb2.Assignment]
    token: str = TOKEN
    stop_after_heartbeats: int | None = None
    calls: list[tuple[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _check(self, context: grpc.ServicerContext, name: str, request: Any) -> None:
        metadata = dict(context.invocation_metadata())
        if metadata.get(TOKEN_KEY) != self.token:
            context.abort(grpc.StatusCode.UNAUTHENTICATED, "invalid attempt token")
        with self.lock:
            self.calls.append((name, request))

    def GetAssignment(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "GetAssignment", request)
        if request.attempt_id not in self.assignments:
            context.abort(grpc.StatusCode.NOT_FOUND, f"no attempt {request.attempt_id}")
        return self.assignments[request.attempt_id]

    def Heartbeat(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "Heartbeat", request)
        stop = self.stop_after_heartbeats is not None and (
            len(self.of("Heartbeat")) >= self.stop_after_heartbeats
        )
        action = worker_pb2.WORKER_ACTION_STOP if stop else worker_pb2.WORKER_ACTION_CONTINUE
        return worker_pb2.HeartbeatResponse(action=action)

    def ReportCheckpoint(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "ReportCheckpoint", request)
        return worker_pb2.ReportCheckpointResponse()

    def Finish(self, request: Any, context: grpc.ServicerContext) -> Any:
        self._check(context, "Finish", request)
        return worker_pb2.FinishResponse()

    def of(self, name: str, attempt_id: str | None = None) -> list[Any]:
        with self.lock:
            return [
                r
                for n, r in self.calls
                if n == name and (attempt_id is None or r.attempt_id == attempt_id)
            ]


def start_server(service: RecordingService, port: int = 0) -> tuple[grpc.Server, str]:
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    worker_pb2_grpc.add_WorkerServiceServicer_to_server(service, server)
    bound = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    return server, f"127.0.0.1:{bound}"


@pytest.fixture
def serve() -> Iterator[Callable[[RecordingService], str]]:
    servers: list[grpc.Server] = []

    def _serve(service: RecordingService) -> str:
        server, address = start_server(service)
        servers.append(server)
        return address

    yield _serve
    for server in servers:
        server.stop(None)


def assignment(
    tmp_path: Path,
    attempt_id: str,
    number: int = 1,
    *,
    steps: int = 12,
    step_seconds: float = 0.1,
    command: list[str] | None = None,
    extra: tuple[str, ...] = (),
) -> worker_pb2.Assignment:
    counter = ["python", "-m", "scheduler.workloads.counter"]
    counter += ["--steps", str(steps), "--step-seconds", str(step_seconds), *extra]
    return worker_pb2.Assignment(
        job_id=JOB,
        attempt_id=attempt_id,
        attempt_number=number,
        command=command or counter,
        env={"COUNTER_FLAVOUR": "vanilla"},
        checkpoint_interval=timedelta(seconds=0.3),
        heartbeat_interval=timedelta(seconds=0.2),
        checkpoint_uri=checkpoint_uri(tmp_path),
    )


def checkpoint_uri(tmp_path: Path) -> str:
    return f"local://{tmp_path / 'objects'}"


@dataclass
class AgentRun:
    proc: subprocess.Popen[bytes]
    log_path: Path
    node: Path

    def wait(self, timeout: float = 15.0) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
            pytest.fail(f"agent did not exit in {timeout}s; log:\n{self.log}")

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def start_agent(tmp_path: Path, address: str, attempt_id: str, token: str = TOKEN) -> AgentRun:
    node = tmp_path / "node"
    node.mkdir(exist_ok=True)
    python_path = os.pathsep.join(p for p in (str(REPO), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "SKYBATCH_ATTEMPT_TOKEN": token, "PYTHONPATH": python_path}
    log_path = tmp_path / f"agent-{attempt_id}.log"
    argv = [sys.executable, "-m", "scheduler.worker", "--server", address]
    argv += ["--attempt-id", attempt_id]
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            argv,
            cwd=node,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return AgentRun(proc, log_path, node)


def wait_for(predicate: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.02)


def restore_latest(tmp_path: Path, name: str) -> tuple[int, Path]:
    dest = tmp_path / name
    info = checkpoint_store_from_uri(checkpoint_uri(tmp_path)).restore(JOB, dest)
    assert info is not None
    return info.seq, dest


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def test_runs_to_completion(tmp_path: Path, serve: Callable[[RecordingService], str]) -> None:
    steps = 12
    service = RecordingService({"att-1": assignment(tmp_path, "att-1", steps=steps)})
    agent = start_agent(tmp_path, serve(service), "att-1")

    assert agent.wait() == 0, agent.log
    [finish] = service.of("Finish")
    assert (finish.exit_code, finish.interrupted) == (0, False)
    seqs = [r.seq for r in service.of("ReportCheckpoint")]
    assert len(seqs) >= 2
    assert seqs == sorted(set(seqs))
    assert seqs[0] == 1
    progress = [r.progress for r in service.of("Heartbeat")]
    assert progress
    assert all(0.0 <= p <= 1.0 for p in progress)

    seq, ckpt = restore_latest(tmp_path, "restored")
    assert seq == seqs[-1]
    result = load(ckpt / "result.json")
    assert result["executed"] == steps
    assert result["attempts"] == [1]
    assert result["digest"] == expected_digest(steps)
    assert TOKEN not in agent.log


def test_sigterm_then_resume_elsewhere(
    tmp_path: Path, serve: Callable[[RecordingService], str]
) -> None:
    steps = 30
    service = RecordingService(
        {
            "att-1": assignment(tmp_path, "att-1", 1, steps=steps),
            "att-2": assignment(tmp_path, "att-2", 2, steps=steps),
        }
    )
    address = serve(service)
    first = start_agent(tmp_path, address, "att-1")
    wait_for(lambda: len(service.of("ReportCheckpoint", "att-1")) >= 2)

    # The preemption notice goes to the whole process group: agent and job alike.
    noticed = time.monotonic()
    os.killpg(first.proc.pid, signal.SIGTERM)
    assert first.wait() == 0, first.log
    assert time.monotonic() - noticed < 5.0, first.log
    [finish] = service.of("Finish", "att-1")
    assert finish.interrupted
    assert finish.exit_code == 143

    # The final checkpoint holds exactly where the job stopped: nothing after it is lost.
    stopped_at = load(first.node / "work-att-1" / "checkpoint" / "state.json")["next_step"]
    assert 0 < stopped_at < steps
    seq1, ckpt1 = restore_latest(tmp_path, "after-attempt-1")
    assert seq1 == service.of("ReportCheckpoint", "att-1")[-1].seq
    assert load(ckpt1 / "state.json")["next_step"] == stopped_at

    second = start_agent(tmp_path, address, "att-2")
    assert second.wait() == 0, second.log
    [finish2] = service.of("Finish", "att-2")
    assert (finish2.exit_code, finish2.interrupted) == (0, False)
    assert min(r.seq for r in service.of("ReportCheckpoint", "att-2")) > seq1

    _, final = restore_latest(tmp_path, "final")
    ledger = load(final / "state.json")["ledger"]
    assert [e["step"] for e in ledger] == list(range(steps))  # nothing redone, nothing lost
    assert [e["attempt"] for e in ledger] == [1] * stopped_at + [2] * (steps - stopped_at)
    result = load(final / "result.json")
    assert result["executed"] == steps
    assert result["attempts"] == [1, 2]
    assert result["digest"] == expected_digest(steps)


def test_sigterm_to_a_stubborn_job_fits_the_grace(
    tmp_path: Path, serve: Callable[[RecordingService], str]
) -> None:
    stubborn = (
        "import os, signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN);"
        "open(os.environ['SKYBATCH_CHECKPOINT_DIR'] + '/ready', 'w').close(); time.sleep(60)"
    )
    command = ["python", "-c", stubborn]
    service = RecordingService({"att-1": assignment(tmp_path, "att-1", command=command)})
    agent = start_agent(tmp_path, serve(service), "att-1")
    wait_for(lambda: len(service.of("ReportCheckpoint")) >= 1)

    noticed = time.monotonic()
    os.killpg(agent.proc.pid, signal.SIGTERM)
    assert agent.wait() == 0, agent.log
    assert time.monotonic() - noticed < 5.0, agent.log
    [finish] = service.of("Finish")
    assert finish.interrupted
    assert finish.exit_code == 128 + signal.SIGKILL
    assert "SIGKILL" in agent.log


def test_heartbeat_stop_stops_the_job(
    tmp_path: Path, serve: Callable[[RecordingService], str]
) -> None:
    service = RecordingService(
        {"att-1": assignment(tmp_path, "att-1", steps=200, step_seconds=0.05)},
        stop_after_heartbeats=3,
    )
    started = time.monotonic()
    agent = start_agent(tmp_path, serve(service), "att-1")
    assert agent.wait() == 0, agent.log
    assert time.monotonic() - started < 8.0
    [finish] = service.of("Finish")
    assert finish.interrupted
    assert finish.exit_code == 143
    state = load(agent.node / "work-att-1" / "checkpoint" / "state.json")
    assert state["next_step"] < 200
    assert not (agent.node / "work-att-1" / "checkpoint" / "result.json").exists()


def test_wrong_token_is_fatal(tmp_path: Path, serve: Callable[[RecordingService], str]) -> None:
    service = RecordingService({"att-1": assignment(tmp_path, "att-1")})
    wrong = "wrong-token-must-not-be-logged"
    agent = start_agent(tmp_path, serve(service), "att-1", token=wrong)
    assert agent.wait() != 0
    assert "UNAUTHENTICATED" in agent.log
    assert "invalid attempt token" in agent.log
    assert wrong not in agent.log
    assert service.calls == []


def test_job_failure_is_reported(tmp_path: Path, serve: Callable[[RecordingService], str]) -> None:
    service = RecordingService(
        {"att-1": assignment(tmp_path, "att-1", steps=10, extra=("--fail-at", "4"))}
    )
    agent = start_agent(tmp_path, serve(service), "att-1")
    assert agent.wait() == 0, agent.log
    [finish] = service.of("Finish")
    assert (finish.exit_code, finish.interrupted) == (3, False)
    _, ckpt = restore_latest(tmp_path, "restored")
    assert load(ckpt / "state.json")["next_step"] == 4


def test_job_environment(tmp_path: Path, serve: Callable[[RecordingService], str]) -> None:
    dump_env = (
        "import json, os; d = os.environ['SKYBATCH_CHECKPOINT_DIR'];"
        "json.dump(dict(os.environ), open(os.path.join(d, 'env.json'), 'w'))"
    )
    command = ["python", "-c", dump_env]
    service = RecordingService({"att-7": assignment(tmp_path, "att-7", 3, command=command)})
    agent = start_agent(tmp_path, serve(service), "att-7")
    assert agent.wait() == 0, agent.log
    _, ckpt = restore_latest(tmp_path, "restored")
    env = load(ckpt / "env.json")
    work = agent.node / "work-att-7"
    assert "SKYBATCH_ATTEMPT_TOKEN" not in env
    assert env["SKYBATCH_JOB_ID"] == JOB
    assert env["SKYBATCH_ATTEMPT"] == "3"
    assert env["SKYBATCH_ATTEMPT_ID"] == "att-7"
    assert Path(env["SKYBATCH_CHECKPOINT_DIR"]) == work / "checkpoint"
    assert Path(env["SKYBATCH_PROGRESS_FILE"]) == work / "progress"
    assert env["COUNTER_FLAVOUR"] == "vanilla"
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)


def test_waits_for_a_server_that_is_not_up_yet(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = RecordingService({"att-1": assignment(tmp_path, "att-1", steps=3)})
    agent = start_agent(tmp_path, f"127.0.0.1:{port}", "att-1")
    time.sleep(1.5)
    server, _ = start_server(service, port)
    try:
        assert agent.wait() == 0, agent.log
    finally:
        server.stop(None)
    [finish] = service.of("Finish")
    assert finish.exit_code == 0
    assert "retrying" in agent.log
