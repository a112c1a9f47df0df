"""The solver in a process of its own, so that a big plan does not stall the API.

Compiling and solving a plan over 10,000 jobs is seconds of Python and numpy holding
the server's GIL: every gRPC thread waits behind it (single-submit p99 went from ~20 ms
to ~800 ms while the loop planned). :class:`SolveProcess` is a policy (called like
``solver.solve``) that hands problems of at least :data:`MIN_JOBS` jobs to one worker
process (``spawn``: no inherited locks or threads) and solves smaller ones in place,
where the hand-over would cost more than it saves. The solver is pure, so the plan is
the same either way.

Pickling holds the GIL for as long as it runs (dataclasses pickle in C), so jobs and
decisions cross in chunks of :data:`CHUNK`, a few milliseconds each (10,000 jobs are
about 1.4 MB). The previous plan, the solver's hint, stays in the worker: when the
hint is the plan the worker returned last, only a flag crosses. The worker runs at a
lower CPU priority (``nice``), so on a small machine the API threads come first, and
exits when the server is gone. A worker that dies is replaced on the next call (which
then goes without the hint).
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import os
import pickle
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import replace
from typing import Any

import solver
from solver.policies import Policy

log = logging.getLogger(__name__)

#: Problems with fewer jobs are solved in the calling process.
MIN_JOBS = 200
#: Jobs (or decisions) per pickled chunk.
CHUNK = 500
#: ``nice`` increment of the worker.
NICENESS = 10
#: How often the worker checks that the server is still its parent.
PARENT_CHECK_S = 1.0

#: The worker's last plan (module state of the worker process).
_last: solver.Plan | None = None


def _chunks(items: Sequence[Any]) -> list[bytes]:
    return [pickle.dumps(items[i : i + CHUNK], protocol=5) for i in range(0, len(items), CHUNK)]


def _unchunk(chunks: Sequence[bytes]) -> list[Any]:
    return [x for c in chunks for x in pickle.loads(c)]


def _init_worker(parent: int) -> None:
    """Lower the worker's priority; end it when the server dies (even by SIGKILL, when
    nothing would shut the pool down)."""
    os.nice(NICENESS)
    threading.Thread(target=_exit_with, args=(parent,), name="parent-watch", daemon=True).start()


def _exit_with(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(PARENT_CHECK_S)
    os._exit(0)


def _solve(
    policy: Policy,
    shell: solver.Problem,
    jobs: list[bytes],
    time_limit_s: float,
    hint: solver.Plan | None,
    hint_is_last: bool,
) -> tuple[solver.Plan, list[bytes]]:
    """In the worker: the plan without its decisions, and the decisions in chunks."""
    global _last
    problem = replace(shell, jobs=tuple(_unchunk(jobs)))
    plan = policy(problem, time_limit_s=time_limit_s, hint=_last if hint_is_last else hint)
    _last = plan
    return replace(plan, decisions={}), _chunks(list(plan.decisions.items()))


class SolveProcess:
    """``policy`` (a picklable module-level function) run in a worker process."""

    def __init__(self, policy: Policy = solver.solve, *, min_jobs: int = MIN_JOBS) -> None:
        self.policy = policy
        self.min_jobs = min_jobs
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None
        #: The plan the worker returned last (our unpickled copy), to recognise the hint.
        self._worker_last: solver.Plan | None = None
        self._closed = False

    def __call__(
        self, problem: solver.Problem, *, time_limit_s: float, hint: solver.Plan | None
    ) -> solver.Plan:
        if len(problem.jobs) < self.min_jobs:
            return self.policy(problem, time_limit_s=time_limit_s, hint=hint)
        with self._lock:
            if self._closed:
                raise RuntimeError("the solver process is closed")
            if self._pool is None:
                self._pool = ProcessPoolExecutor(
                    1,
                    mp_context=mp.get_context("spawn"),
                    initializer=_init_worker,
                    initargs=(os.getpid(),),
                )
                self._worker_last = None
            pool = self._pool
        same = hint is not None and hint is self._worker_last
        shell = replace(problem, jobs=())
        jobs = _chunks(problem.jobs)
        try:
            plan, decisions = pool.submit(
                _solve, self.policy, shell, jobs, time_limit_s, None if same else hint, same
            ).result()
        except BrokenProcessPool:
            log.warning("the solver process died; starting another for the next plan")
            with self._lock:
                if self._pool is pool:
                    self._pool = None
            raise
        plan = replace(plan, decisions=dict(_unchunk(decisions)))
        self._worker_last = plan
        return plan

    def close(self) -> None:
        """Stop the worker (a plan being made is abandoned)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
