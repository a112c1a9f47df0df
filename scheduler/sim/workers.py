"""Simulated worker agents: what a worker sends, at virtual times, through the same
:class:`~scheduler.store.AttemptStore` methods ``WorkerService`` calls.

A worker starts when its node runs: it heartbeats (the job becomes RUNNING) with the
progress it restored from the job's newest checkpoint, then makes progress at the
job's *true* runtime (after ``resume_overhead_s`` when it resumed), checkpoints every
``checkpoint_interval`` of run time, heartbeats every ``heartbeat_interval_s``, and
calls ``finish(0)`` at its true end. On a preemption notice it saves a checkpoint of
the moment (``checkpoint_on_notice``, as the agent does on SIGTERM) and calls
``finish(interrupted)``. A server that answers a heartbeat with STOP stops it (the
attempt ends as interrupted), and a node the loop terminated takes it with it, silently.

The loop reads the store only when it ticks, so what a worker sends between two ticks
is delivered just before the next one, as of that moment (:meth:`Workers.before_tick`):
a due heartbeat when that tick may plan (the planner reads live attempts' progress for
their quota holds) or when liveness needs one (half the heartbeat timeout), and the
newest checkpoint once the attempt is over (only then does the loop read it: the job
resumes from it). The loop sees what it would have seen had each been sent on time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from adapters.sim import SimNode
from scheduler.sim.clock import VirtualClock
from scheduler.sim.config import SimConfig
from scheduler.sim.workload import SimJob
from scheduler.store import AttemptStore

#: Exit code the worker agent reports for a job stopped by SIGTERM (128 + 15).
EXIT_TERMINATED = 143


@dataclass
class Worker:
    """A simulated worker agent on one node, for one attempt."""

    attempt_id: str
    #: Index of its job in the workload.
    job: int
    node: SimNode
    #: Seconds since the start: when it began making progress, and its last heartbeat.
    work_start: float
    last_heartbeat: float
    #: Progress restored from the job's newest checkpoint.
    restored: float
    runtime_s: float
    checkpoint_s: float
    checkpoints_reported: int = 0

    @property
    def end_s(self) -> float:
        """When the job's command exits, if nothing stops it first."""
        return self.work_start + self.runtime_s * (1.0 - self.restored)

    def progress(self, t: float) -> float:
        return min(1.0, self.restored + max(0.0, t - self.work_start) / self.runtime_s)

    def checkpoints_by(self, t: float) -> int:
        if self.checkpoint_s <= 0 or t <= self.work_start:
            return 0
        return math.floor((t - self.work_start) / self.checkpoint_s + 1e-9)


class Workers:
    """The workers of one simulation, and the checkpoint store's truth per job."""

    def __init__(
        self,
        attempts: AttemptStore,
        clock: VirtualClock,
        config: SimConfig,
        jobs: Sequence[SimJob],
    ) -> None:
        self.attempts = attempts
        self.clock = clock
        self.jobs = jobs
        self.resume_s = config.resume_overhead
        self.heartbeat_s = config.heartbeat_interval_s
        self.liveness_s = max(self.heartbeat_s, config.control.heartbeat_timeout_s / 2)
        self.checkpoint_on_notice = config.checkpoint_on_notice
        self._epoch = config.start.timestamp()
        self._by_attempt: dict[str, Worker] = {}
        self._by_node: dict[str, Worker] = {}
        #: Per job: checkpoint sequence and the progress its newest checkpoint holds
        #: (what a new attempt restores).
        self._seq = [0] * len(jobs)
        self.saved = [0.0] * len(jobs)
        #: Set by the engine: may the next tick plan (are jobs pending)?
        self.planning_next = False
        #: Attempts that ended (their worker finished or was interrupted).
        self.ended = 0

    def __len__(self) -> int:
        return len(self._by_attempt)

    def start(self, node: SimNode, job: int, t: float) -> Worker | None:
        """The node runs its boot script: the agent reports in. None when it does not
        get to work (its node is gone, or the attempt is over already)."""
        if not node.alive_at(self._epoch + t):
            return None
        now = self.clock.now()
        restored = self.saved[job]
        if not self.attempts.heartbeat(node.token, restored, now):
            self.attempts.finish(node.token, EXIT_TERMINATED, True, "stopped by the server", now)
            return None
        worker = Worker(
            attempt_id=node.token,
            job=job,
            node=node,
            work_start=t + (self.resume_s if restored > 0 else 0.0),
            last_heartbeat=t,
            restored=restored,
            runtime_s=self.jobs[job].runtime_s,
            checkpoint_s=self.jobs[job].checkpoint_interval_s,
        )
        self._by_attempt[worker.attempt_id] = worker
        self._by_node[node.node_id] = worker
        return worker

    def end(self, attempt_id: str, t: float) -> bool:
        """The job's command exits 0. True when the worker told the server so."""
        w = self._by_attempt.get(attempt_id)
        if w is None:
            return False
        self._drop(w)
        if not w.node.alive_at(self._epoch + t):
            return False  # its node was terminated under it: nothing more is heard
        if self._report(w, t):
            self.attempts.finish(attempt_id, 0, False, "job exited with code 0", self.clock.now())
        self.ended += 1
        return True

    def notice(self, node: SimNode, t: float) -> bool:
        """The cloud gives notice that it takes the node back. True when a worker on it
        was interrupted (its job goes back to planning)."""
        w = self._by_node.get(node.node_id)
        if w is None:
            return False
        self._drop(w)
        if not node.alive_at(self._epoch + t):
            return False
        if self._report(w, t, last=not self.checkpoint_on_notice):
            if self.checkpoint_on_notice:
                self._checkpoint(w, w.progress(t), 1)
            self.attempts.finish(
                w.attempt_id, EXIT_TERMINATED, True, "interrupted by SIGTERM", self.clock.now()
            )
        self.ended += 1
        return True

    def before_tick(self, t: float) -> None:
        """Deliver what the workers sent since the last tick; forget the workers whose
        node the loop terminated."""
        for w in list(self._by_attempt.values()):
            if not w.node.alive_at(self._epoch + t) or not self._report(w, t):
                self._drop(w)

    def _drop(self, w: Worker) -> None:
        self._by_attempt.pop(w.attempt_id, None)
        self._by_node.pop(w.node.node_id, None)

    def _report(self, w: Worker, t: float, *, last: bool = False) -> bool:
        """A due heartbeat (see the module docstring); at the worker's end (``last``)
        also its newest periodic checkpoint. False when the server said STOP: the worker
        stops, as the agent does, ending the attempt as interrupted."""
        now = self.clock.now()
        since = t - w.last_heartbeat
        if since >= self.heartbeat_s and (self.planning_next or last or since >= self.liveness_s):
            w.last_heartbeat = t
            if not self.attempts.heartbeat(w.attempt_id, w.progress(t), now):
                self.attempts.finish(
                    w.attempt_id, EXIT_TERMINATED, True, "stopped by the server", now
                )
                return False
        if last:
            n = w.checkpoints_by(t)
            if n > w.checkpoints_reported:
                at = w.work_start + n * w.checkpoint_s
                self._checkpoint(w, w.progress(at), n - w.checkpoints_reported)
                w.checkpoints_reported = n
        return True

    def _checkpoint(self, w: Worker, progress: float, taken: int) -> None:
        self._seq[w.job] += taken
        self.saved[w.job] = progress
        self.attempts.report_checkpoint(w.attempt_id, self._seq[w.job], progress, self.clock.now())
