"""The solver in a worker process: the same plan as in place, the hint kept in the
worker, and no worker left behind when the server dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from scheduler.control.solve_process import SolveProcess
from solver import Job, Market, Offering, Problem, QuotaPool
from solver.policies import greedy

NOW = 1_800_000_000
HOUR = 3600


def problem(n: int) -> Problem:
    offerings = tuple(
        Offering(
            id=f"c/r{r}/m4/on-demand",
            cloud="c",
            region=f"r{r}",
            zone=f"r{r}-a",
            instance_type="m4",
            market=Market.ON_DEMAND,
            vcpus=4,
            memory_gib=16,
            gpu_count=0,
            gpu_type="",
            price_micros_per_hour=200_000 + 10_000 * r,
            hazard_per_hour=0.0,
            launch_delay_s=60,
            quota_draw=((f"c/r{r}/vcpu", 4),),
        )
        for r in range(3)
    )
    jobs = tuple(
        Job(
            id=f"j{i}",
            vcpus=4,
            memory_gib=8,
            runtime_s=HOUR,
            runtime_p_s=int(1.2 * HOUR),
            deadline=NOW + (2 + i % 5) * HOUR,
            spot_allowed=False,
            restart_overhead_s=120,
            checkpoint_interval_s=600,
            tenant="t",
        )
        for i in range(n)
    )
    pools = tuple(QuotaPool(f"c/r{r}/vcpu", 40) for r in range(3))
    return Problem(now=NOW, jobs=jobs, offerings=offerings, quota_pools=pools)


def test_a_worker_plans_what_the_policy_plans_in_place() -> None:
    p = problem(1_200)  # more than one chunk of jobs and of decisions each way
    solve = SolveProcess(greedy, min_jobs=1)
    try:
        first = solve(p, time_limit_s=5, hint=None)
        # The hint is the worker's own last plan: only a flag crosses, same answer.
        second = solve(p, time_limit_s=5, hint=first)
    finally:
        solve.close()
    expected = greedy(p, time_limit_s=5, hint=None)
    assert first.decisions == expected.decisions
    assert first.objective_micros == expected.objective_micros
    assert second.decisions == expected.decisions
    placed = sum(d.offering_id is not None for d in first.decisions.values())
    assert 0 < placed < len(p.jobs)  # the quotas bind: a real plan, not a trivial one


def test_small_problems_stay_in_the_calling_process() -> None:
    solve = SolveProcess(greedy, min_jobs=100)
    try:
        plan = solve(problem(5), time_limit_s=5, hint=None)
        assert solve._pool is None  # no worker was started
    finally:
        solve.close()
    assert len(plan.decisions) == 5


SERVER = """
import sys, time
from scheduler.control.solve_process import SolveProcess
from solver.policies import greedy
from tests.unit.scheduler.test_solve_process import problem
solve = SolveProcess(greedy, min_jobs=1)
solve(problem(10), time_limit_s=5, hint=None)
print(" ".join(p.read_text().strip() for p in __import__("pathlib").Path(
    f"/proc/{__import__('os').getpid()}/task").glob("*/children")), flush=True)
time.sleep(600)
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def test_the_worker_exits_when_the_server_is_killed(tmp_path: Path) -> None:
    # (Its resource tracker complains about the semaphores the kill leaves: to a file.)
    with (tmp_path / "server.err").open("w") as err:
        server = subprocess.Popen(
            [sys.executable, "-c", SERVER],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env={**os.environ, "PYTHONPATH": os.getcwd()},
        )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        server.stdout.close()
        assert line.strip(), (tmp_path / "server.err").read_text()
        workers = [int(x) for x in line.split()]
        # The spawn context's resource tracker is a child too; the worker is niced.
        [worker] = [w for w in workers if os.getpriority(os.PRIO_PROCESS, w) > 0]
        assert alive(worker)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    deadline = time.monotonic() + 10
    while alive(worker):
        assert time.monotonic() < deadline, "the solver worker outlived the server"
        time.sleep(0.1)
