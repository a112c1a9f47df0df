"""A checkpointing counter: the smallest honest workload for the demo and the tests.

``python -m scheduler.workloads.counter --steps N --step-seconds S [--fail-at K]``

Each step sleeps ``S`` seconds (the job's "I/O"), then folds the step number into a
running SHA-256 chain for a few milliseconds of real compute. The whole state is one
JSON file, ``$SKYBATCH_CHECKPOINT_DIR/state.json``::

    {"next_step": k, "ledger": [{"step": i, "attempt": a}, ...], "digest": "<hex>"}

rewritten atomically (temp file, fsync, ``os.replace``) after every step, so any copy
of the directory is a consistent snapshot and a restart resumes at ``next_step``. The
ledger records which attempt (``$SKYBATCH_ATTEMPT``) ran each step, so tests can prove
that nothing before the last checkpoint was redone and nothing after it was lost; the
digest is independent of attempts, so an interrupted run ends with the same digest as
an uninterrupted one (:func:`expected_digest`).

Progress ``k/N`` goes to ``$SKYBATCH_PROGRESS_FILE``. SIGTERM stops the job after the
current step's state is written (exit 143). At the end ``result.json`` holds
``{"steps", "executed", "attempts", "digest"}`` and the exit code is 0. ``--fail-at K``
exits 3 on reaching step ``K`` (for failure tests).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

STATE_FILE = "state.json"
RESULT_FILE = "result.json"
EXIT_OK = 0
EXIT_BAD_STATE = 2
EXIT_INJECTED_FAILURE = 3
EXIT_TERMINATED = 128 + signal.SIGTERM
_HASH_ROUNDS = 10_000  # a few milliseconds of SHA-256 per step
_SLEEP_SLICE_S = 0.02


def initial_digest() -> str:
    return hashlib.sha256(b"skybatch-counter").hexdigest()


def step_digest(digest: str, step: int) -> str:
    """Fold ``step`` into the running digest (the step's compute)."""
    block = bytes.fromhex(digest) + step.to_bytes(8, "big")
    for _ in range(_HASH_ROUNDS):
        block = hashlib.sha256(block).digest()
    return block.hex()


def expected_digest(steps: int) -> str:
    """The digest a run of ``steps`` steps ends with, however often it was interrupted."""
    digest = initial_digest()
    for step in range(steps):
        digest = step_digest(digest, step)
    return digest


@dataclass
class State:
    next_step: int = 0
    ledger: list[dict[str, int]] = field(default_factory=list)
    digest: str = field(default_factory=initial_digest)

    def to_json(self) -> dict[str, Any]:
        return {"next_step": self.next_step, "ledger": self.ledger, "digest": self.digest}

    @classmethod
    def from_json(cls, raw: Any) -> State:
        if not isinstance(raw, dict):
            raise ValueError("state is not a JSON object")
        next_step, ledger, digest = raw["next_step"], raw["ledger"], raw["digest"]
        if not isinstance(next_step, int) or next_step < 0:
            raise ValueError(f"bad next_step {next_step!r}")
        if not isinstance(ledger, list) or not all(
            isinstance(e, dict) and isinstance(e.get("step"), int) for e in ledger
        ):
            raise ValueError("bad ledger")
        if not isinstance(digest, str):
            raise ValueError("bad digest")
        bytes.fromhex(digest)
        return cls(next_step, ledger, digest)


def load_state(checkpoint_dir: Path) -> State:
    """The saved state, or a fresh one when there is none. Raises ValueError if corrupt."""
    path = checkpoint_dir / STATE_FILE
    try:
        text = path.read_text()
    except FileNotFoundError:
        return State()
    try:
        return State.from_json(json.loads(text))
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so readers see the old or the new file, never half."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with tmp.open("wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def write_json_atomic(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, separators=(",", ":")).encode())


class StopFlag:
    """Set by SIGTERM; checked between steps."""

    def __init__(self) -> None:
        self.requested = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds``, returning early once the flag is set."""
        deadline = time.monotonic() + seconds
        while not self.requested and (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, _SLEEP_SLICE_S))


def run(
    *,
    steps: int,
    step_seconds: float,
    checkpoint_dir: Path,
    progress_file: Path | None,
    attempt: int,
    stop: StopFlag,
    fail_at: int | None = None,
) -> int:
    """Run (or resume) the counter; returns the process exit code."""
    checkpoint_dir.mkdir(parents=True, exist_ok=True)
    try:
        state = load_state(checkpoint_dir)
    except ValueError as exc:
        print(f"counter: cannot resume, corrupt state: {exc}", file=sys.stderr)
        return EXIT_BAD_STATE
    if state.next_step > steps:
        print(f"counter: state is at step {state.next_step} of {steps}", file=sys.stderr)
        return EXIT_BAD_STATE
    if state.next_step:
        print(f"counter: resuming at step {state.next_step}/{steps}", file=sys.stderr)

    def report_progress() -> None:
        if progress_file is not None:
            done = state.next_step / steps if steps else 1.0
            write_atomic(progress_file, f"{done}\n".encode())

    report_progress()
    while state.next_step < steps:
        if stop.requested:
            return EXIT_TERMINATED
        step = state.next_step
        if step == fail_at:
            print(f"counter: injected failure at step {step}", file=sys.stderr)
            return EXIT_INJECTED_FAILURE
        stop.sleep(step_seconds)
        state.digest = step_digest(state.digest, step)
        state.ledger.append({"step": step, "attempt": attempt})
        state.next_step = step + 1
        write_json_atomic(checkpoint_dir / STATE_FILE, state.to_json())
        report_progress()
    attempts = sorted({e.get("attempt", 0) for e in state.ledger})
    result = {
        "steps": steps,
        "executed": len(state.ledger),
        "attempts": attempts,
        "digest": state.digest,
    }
    write_json_atomic(checkpoint_dir / RESULT_FILE, result)
    print(f"counter: done, {steps} steps over attempts {attempts}", file=sys.stderr)
    return EXIT_OK


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler.workloads.counter")
    parser.add_argument("--steps", type=int, required=True, help="number of steps")
    parser.add_argument("--step-seconds", type=float, default=0.1, help="sleep per step")
    parser.add_argument("--fail-at", type=int, default=None, help="exit 3 at this step")
    args = parser.parse_args(argv)
    if args.steps < 0 or args.step_seconds < 0:
        parser.error("--steps and --step-seconds must be >= 0")

    stop = StopFlag()
    signal.signal(signal.SIGTERM, stop.handle)
    progress = os.environ.get("SKYBATCH_PROGRESS_FILE")
    return run(
        steps=args.steps,
        step_seconds=args.step_seconds,
        checkpoint_dir=Path(os.environ.get("SKYBATCH_CHECKPOINT_DIR", ".")),
        progress_file=Path(progress) if progress else None,
        attempt=int(os.environ.get("SKYBATCH_ATTEMPT", "1")),
        stop=stop,
        fail_at=args.fail_at,
    )


if __name__ == "__main__":
    sys.exit(main())
