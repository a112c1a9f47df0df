"""``skybatch demo``: the whole loop on one machine, in about a minute.

Starts ``skybatch serve`` (SQLite + the local cloud, in a fresh data dir, on a free
port) as a separate process, submits the jobs of ``demo_jobs.yaml`` over gRPC,
preempts the first spot node mid-run, cancels one job, shows progress live, and
ends with a table per job. Exits 0 only if every job ended as expected and at least
one job was preempted and resumed from its checkpoint.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import IO

from libcloud.compute.types import NodeState

from adapters.local import LocalCloudConfig, LocalNodeDriver
from scheduler.api.client import SkybatchClient
from scheduler.cli.live import watch_live
from scheduler.cli.render import make_console, summary_table
from scheduler.domain import JobState, JobView, utcnow
from scheduler.jobyaml import load_jobs

console = make_console()
CANCEL_AFTER_S = 8.0
TIMEOUT_S = 100.0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("demo", help="run the end-to-end demo on the local cloud")
    p.add_argument("--data-dir", type=Path, default=None, help="default: a new temp dir")
    p.set_defaults(func=run)


def _start_server(data_dir: Path) -> tuple[subprocess.Popen[str], str]:
    with (data_dir / "serve.log").open("w") as log:
        return _spawn(data_dir, log)


def _spawn(data_dir: Path, log: IO[str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scheduler",
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--data-dir",
            str(data_dir),
            "--preempt",
            "1:6",  # the first spot node is reclaimed 6 s after it boots
            "--grace",
            "4",
            "--restart-overhead",
            "5",
            "--heartbeat-timeout",
            "15",
            "--tick",
            "0.5",
        ],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith("serving on "):
        proc.kill()
        raise SystemExit(f"server failed to start; see {data_dir / 'serve.log'}")
    return proc, line.split()[-1]


def _stop_server(proc: subprocess.Popen[str]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()


def _leftover_nodes(data_dir: Path, wait_s: float = 10.0) -> int:
    """Nodes still up after the jobs ended (the reconciler should leave none)."""
    driver = LocalNodeDriver(LocalCloudConfig(state_dir=data_dir / "local-cloud"))
    deadline = time.monotonic() + wait_s
    while True:
        up = [n for n in driver.list_nodes() if n.state != NodeState.TERMINATED]
        if not up or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    for n in up:
        driver.destroy_node(n)
    return len(up)


def _check(jobs: list[JobView]) -> list[str]:
    problems = []
    for j in jobs:
        want = JobState.CANCELLED if j.spec.name == "cancel-me" else JobState.SUCCEEDED
        if j.state is not want:
            problems.append(f"{j.spec.name}: {j.state.value}, expected {want.value}")
        if want is JobState.SUCCEEDED and j.finished_at and j.finished_at > j.spec.deadline:
            problems.append(f"{j.spec.name}: missed its deadline")
    if not any(j.preemptions and j.state is JobState.SUCCEEDED for j in jobs):
        problems.append("no job was preempted and resumed")
    return problems


def run(args: argparse.Namespace) -> int:
    started = time.monotonic()
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="skybatch-demo-"))
    data_dir.mkdir(parents=True, exist_ok=True)
    console.rule("[bold]skybatch demo")
    console.print(f"data dir {data_dir} (SQLite store, local cloud, checkpoints)")
    proc, address = _start_server(data_dir)
    console.print(f"server  {address} (pid {proc.pid}); log: {data_dir / 'serve.log'}")
    try:
        text = resources.files("scheduler.cli").joinpath("demo_jobs.yaml").read_text()
        with SkybatchClient(address) as c:
            c.wait_ready()
            submitted = c.submit(load_jobs(text, now=utcnow()))
            console.print(f"submitted {len(submitted)} jobs over gRPC")
            victim = next(j.id for j, _ in submitted if j.spec.name == "cancel-me")
            timer = threading.Timer(CANCEL_AFTER_S, c.cancel, (victim, "demo: cancel a job"))
            timer.start()
            ids = [j.id for j, _ in submitted]
            jobs = watch_live(c, console, job_ids=ids, timeout_s=TIMEOUT_S)
            timer.cancel()
            jobs = [c.get(i) for i in ids]
            now = utcnow()
    finally:
        leftover = _leftover_nodes(data_dir)
        _stop_server(proc)
    console.print(summary_table(jobs, now))
    for j in jobs:
        if j.preemptions:
            resumed = [a for a in j.attempts if a.number > 1]
            console.print(
                f"[magenta]{j.spec.name}[/]: preempted {j.preemptions}x, resumed from its "
                f"checkpoint on attempt {resumed[0].number if resumed else '?'}"
            )
    total = sum((j.cost for j in jobs), start=Decimal(0))
    console.print(
        f"total cost ${total}  |  {time.monotonic() - started:.0f}s wall clock  |  "
        f"leftover nodes: {leftover}"
    )
    problems = _check(jobs) + ([f"{leftover} node(s) left running"] if leftover else [])
    for p in problems:
        console.print(f"[bold red]problem:[/] {p}")
    console.rule("[bold green]demo ok" if not problems else "[bold red]demo failed")
    return 0 if not problems else 1
