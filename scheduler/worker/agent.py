"""The worker agent: runs one attempt of a job on a node and reports on it.

Flow (see DESIGN.md, "worker agent on a node"):

1. ``GetAssignment`` (retried while the server is unreachable, ~30 s).
2. Restore the newest complete checkpoint into ``./work-<attempt>/checkpoint``.
3. Run the command (argv, no shell) in the agent's own process group, so a cloud that
   kills the node's group kills the job too, with the ``SKYBATCH_*`` environment.
4. While it runs: heartbeat every ``heartbeat_interval`` (STOP -> SIGTERM the job,
   SIGKILL after 10 s, ``Finish(interrupted)``); every ``checkpoint_interval`` upload
   the checkpoint directory if it changed and ``ReportCheckpoint``. RPC failures here
   are logged and retried at the next tick; the job keeps running.
5. SIGTERM to the agent (a preemption notice, which the job also got): wait for the
   job at most ``grace`` seconds, upload a final checkpoint, report, ``Finish
   (interrupted)``. Every step is short so this fits a 5 s notice.
6. The job exits on its own: final checkpoint, report, ``Finish`` (retried ~30 s).

The agent's exit code is 0 once ``Finish`` was delivered, whatever the job's was.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shlex
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import grpc

from adapters.base import CheckpointError
from adapters.checkpoints import checkpoint_store_from_uri
from scheduler.api.channel import TOKEN_ENV as TENANT_TOKEN_ENV
from scheduler.api.tls import CERT_PEM_ENV, KEY_PEM_ENV
from scheduler.worker.checkpointing import Checkpointer
from scheduler.worker.rpc import Assignment, WorkerClient, WorkerRpcError

log = logging.getLogger(__name__)

TOKEN_ENV = "SKYBATCH_ATTEMPT_TOKEN"
EXIT_OK = 0
EXIT_FAILED = 1
#: Reported as the job's exit code when it could not be started (as ``env`` does).
JOB_NOT_STARTED = 125
JOB_NOT_EXECUTABLE = 126
JOB_NOT_FOUND = 127
_AUTH_CODES = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
_TICK_S = 0.05
_RPC_TIMEOUT_S = 2.0
# After a preemption notice the node may be gone in 5 s: one short try per call.
_LAST_WORDS_TIMEOUT_S = 0.75


@dataclass(frozen=True)
class AgentConfig:
    server: str
    attempt_id: str
    grace_s: float = 3.0
    kill_after_s: float = 10.0
    base_dir: Path = Path()


class Interrupt:
    """Records SIGTERM/SIGINT (the preemption notice) for the main loop to act on."""

    def __init__(self) -> None:
        self.at: float | None = None

    @property
    def requested(self) -> bool:
        return self.at is not None

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.at is None:
            self.at = time.monotonic()

    def install(self) -> None:
        signal.signal(signal.SIGTERM, self.handle)
        signal.signal(signal.SIGINT, self.handle)


def read_progress(path: Path) -> float:
    """The job's progress in 0..1; 0 when the file is missing or unreadable."""
    try:
        value = float(path.read_text().strip())
    except (OSError, ValueError):
        return 0.0
    return min(max(value, 0.0), 1.0) if value == value else 0.0  # NaN -> 0


def _wait(proc: subprocess.Popen[bytes], seconds: float) -> None:
    with contextlib.suppress(subprocess.TimeoutExpired):
        proc.wait(timeout=seconds)


def exit_code_of(returncode: int) -> int:
    """Popen's ``-N`` for "killed by signal N" as the shell's ``128 + N``."""
    return 128 - returncode if returncode < 0 else returncode


def job_env(assignment: Assignment, work: Path, ckpt: Path, progress: Path) -> dict[str, str]:
    env = {**os.environ, **assignment.env}
    env.pop(TOKEN_ENV, None)
    # A tenant's bearer token the node may have inherited is not the job's to use.
    env.pop(TENANT_TOKEN_ENV, None)
    # Nor is the worker's TLS client key (mutual TLS) and its certificate.
    env.pop(KEY_PEM_ENV, None)
    env.pop(CERT_PEM_ENV, None)
    env.update(
        SKYBATCH_JOB_ID=assignment.job_id,
        SKYBATCH_ATTEMPT=str(assignment.attempt_number),
        SKYBATCH_ATTEMPT_ID=assignment.attempt_id,
        SKYBATCH_CHECKPOINT_DIR=str(ckpt),
        SKYBATCH_PROGRESS_FILE=str(progress),
    )
    # So that "python" in the command is the interpreter the agent runs on.
    bindir = os.path.dirname(sys.executable)
    env["PATH"] = os.pathsep.join(p for p in (bindir, env.get("PATH", "")) if p)
    return env


class Agent:
    """One attempt, from assignment to ``Finish``. ``run`` returns the agent's exit code."""

    def __init__(self, config: AgentConfig, client: WorkerClient, interrupt: Interrupt) -> None:
        self._config = config
        self._client = client
        self._interrupt = interrupt
        self._work = (config.base_dir / f"work-{config.attempt_id}").absolute()
        self._ckpt_dir = self._work / "checkpoint"
        self._progress_file = self._work / "progress"
        self._checkpointer: Checkpointer | None = None
        self._unreported: tuple[int, float, int] | None = None  # seq, progress, size

    def run(self) -> int:
        try:
            assignment = self._client.get_assignment(cancelled=lambda: self._interrupt.requested)
        except WorkerRpcError as exc:
            hint = f" (is {TOKEN_ENV} right?)" if exc.code in _AUTH_CODES else ""
            log.error(
                "cannot get the assignment of attempt %s: %s%s", self._config.attempt_id, exc, hint
            )
            return EXIT_FAILED
        log.info(
            "attempt %s: job %s attempt #%d: %s",
            assignment.attempt_id,
            assignment.job_id,
            assignment.attempt_number,
            shlex.join(assignment.command),
        )
        try:
            self._prepare(assignment)
        except (CheckpointError, OSError) as exc:
            log.error("cannot prepare the job: %s", exc)
            return self._finish(JOB_NOT_STARTED, f"agent could not prepare the job: {exc}")
        if self._interrupt.requested:
            return self._finish(exit_code_of(-signal.SIGTERM), "interrupted before start")
        try:
            proc = subprocess.Popen(
                list(assignment.command),
                env=job_env(assignment, self._work, self._ckpt_dir, self._progress_file),
                cwd=self._work,
            )
        except OSError as exc:
            code = (
                JOB_NOT_FOUND
                if isinstance(exc, FileNotFoundError)
                else JOB_NOT_EXECUTABLE
                if isinstance(exc, PermissionError)
                else JOB_NOT_STARTED
            )
            log.error("cannot start the job: %s", exc)
            return self._finish(code, f"cannot start the job: {exc}")
        log.info("job started as pid %d", proc.pid)
        return self._supervise(proc, assignment)

    # -- phases --------------------------------------------------------------------------

    def _prepare(self, assignment: Assignment) -> None:
        if not assignment.command:
            raise OSError("the assignment has an empty command")
        self._ckpt_dir.mkdir(parents=True, exist_ok=True)
        self._progress_file.unlink(missing_ok=True)
        if assignment.checkpoint_uri:
            store = checkpoint_store_from_uri(assignment.checkpoint_uri)
            self._checkpointer = Checkpointer(store, assignment.job_id, self._ckpt_dir)
            self._checkpointer.restore()

    def _supervise(self, proc: subprocess.Popen[bytes], assignment: Assignment) -> int:
        hb_every = assignment.heartbeat_interval_s if assignment.heartbeat_interval_s > 0 else 5.0
        ckpt_every = assignment.checkpoint_interval_s
        now = time.monotonic()
        next_hb = now
        next_ckpt = now + ckpt_every if ckpt_every > 0 else float("inf")
        while proc.poll() is None:
            if self._interrupt.requested:
                return self._on_interrupt(proc)
            now = time.monotonic()
            if now >= next_hb:
                next_hb = now + hb_every
                if self._heartbeat():
                    return self._on_stop(proc)
            if now >= next_ckpt:
                next_ckpt = now + ckpt_every
                self._checkpoint(timeout=_RPC_TIMEOUT_S)
            wait = min(next_hb, next_ckpt) - time.monotonic()
            _wait(proc, min(max(wait, 0.0), _TICK_S))
        code = exit_code_of(proc.returncode)
        log.info("job exited with code %d", code)
        interrupted = self._interrupt.requested
        timeout = _LAST_WORDS_TIMEOUT_S if interrupted else _RPC_TIMEOUT_S
        self._checkpoint(timeout=timeout, final=True)
        return self._finish(code, f"job exited with code {code}", interrupted=interrupted)

    def _on_interrupt(self, proc: subprocess.Popen[bytes]) -> int:
        at = self._interrupt.at if self._interrupt.at is not None else time.monotonic()
        log.warning("SIGTERM: waiting up to %.1fs for the job to stop", self._config.grace_s)
        proc.terminate()  # it usually got the signal already (same group); repeating is harmless
        code = self._wait_or_kill(proc, at + self._config.grace_s)
        self._checkpoint(timeout=_LAST_WORDS_TIMEOUT_S, final=True)
        return self._finish(code, "interrupted by SIGTERM", interrupted=True)

    def _on_stop(self, proc: subprocess.Popen[bytes]) -> int:
        # No final upload: the job was cancelled, or another attempt may own it by now.
        log.warning("server says STOP: terminating the job")
        proc.terminate()
        deadline = time.monotonic() + self._config.kill_after_s
        code = self._wait_or_kill(proc, deadline)
        return self._finish(code, "stopped by the server", interrupted=True)

    def _wait_or_kill(self, proc: subprocess.Popen[bytes], deadline: float) -> int:
        while proc.poll() is None and time.monotonic() < deadline:
            if self._interrupt.at is not None:  # a notice shortens any longer wait
                deadline = min(deadline, self._interrupt.at + self._config.grace_s)
            _wait(proc, _TICK_S)
        if proc.poll() is None:
            log.warning("job did not stop in time: SIGKILL")
            proc.kill()
            proc.wait()
        code = exit_code_of(proc.returncode)
        log.info("job exited with code %d", code)
        return code

    # -- reporting -----------------------------------------------------------------------

    def _heartbeat(self) -> bool:
        progress = read_progress(self._progress_file)
        try:
            return self._client.heartbeat(progress, timeout=_RPC_TIMEOUT_S)
        except WorkerRpcError as exc:
            log.warning("%s (will retry)", exc)
            return False

    def _checkpoint(self, *, timeout: float, final: bool = False) -> None:
        """Upload the checkpoint directory if it changed, then report the newest upload."""
        if self._checkpointer is not None:
            # Progress read first: it may lag the checkpoint, never run ahead of it.
            progress = read_progress(self._progress_file)
            try:
                info = self._checkpointer.upload_if_changed()
            except CheckpointError as exc:
                log.error("checkpoint upload failed: %s", exc)
                info = None
            if info is not None:
                log.info("%scheckpoint seq %d uploaded", "final " if final else "", info.seq)
                self._unreported = (info.seq, progress, info.size_bytes)
        if self._unreported is not None:
            seq, progress, size = self._unreported
            try:
                self._client.report_checkpoint(seq, progress, size, timeout=timeout)
                self._unreported = None
            except WorkerRpcError as exc:
                log.warning("%s (will retry)", exc)

    def _finish(self, exit_code: int, message: str, *, interrupted: bool = False) -> int:
        interrupted = interrupted or self._interrupt.requested
        try:
            if interrupted:
                self._client.finish(
                    exit_code,
                    interrupted=True,
                    message=message,
                    budget_s=_LAST_WORDS_TIMEOUT_S,
                    timeout=_LAST_WORDS_TIMEOUT_S,
                )
            else:
                self._client.finish(
                    exit_code,
                    interrupted=False,
                    message=message,
                    cancelled=lambda: self._interrupt.requested,
                )
        except WorkerRpcError as exc:
            log.error("could not report the end of the attempt: %s", exc)
            return EXIT_FAILED
        log.info("finished: exit code %d, interrupted=%s", exit_code, interrupted)
        return EXIT_OK
