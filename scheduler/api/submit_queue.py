"""Group commit for submissions: concurrent ``SubmitJob(s)`` calls share a transaction.

One write transaction per call costs a ``BEGIN IMMEDIATE``/commit and the session
set-up each time (about 0.5 ms on SQLite), and callers queue for the write lock one
by one. Here each call, already validated, is queued; one committer thread takes
every call waiting (up to :data:`MAX_GROUP_JOBS` jobs) and stores them in one
transaction (:meth:`JobStore.submit_groups`), then answers each. A lone call waits
only for the hand-over to the committer; under load, a commit serves many callers.
All or nothing still holds per call (a group commits or fails as a whole; a failure
fails every call of the group with the same error).
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from datetime import datetime

from scheduler.domain import JobSpec, JobView
from scheduler.store import JobStore

#: A group takes calls until it holds this many jobs (a single call may hold more).
MAX_GROUP_JOBS = 2_000
#: The idle committer checks this often whether the service is stopping.
IDLE_CHECK_S = 1.0


class _Call:
    __slots__ = ("done", "error", "now", "result", "specs", "tenant")

    def __init__(self, tenant: str, specs: Sequence[JobSpec], now: datetime) -> None:
        self.tenant = tenant
        self.specs = specs
        self.now = now
        self.done = threading.Event()
        self.result: list[tuple[JobView, bool]] = []
        self.error: BaseException | None = None


class SubmitQueue:
    def __init__(self, jobs: JobStore, stopping: threading.Event) -> None:
        self.jobs = jobs
        self.stopping = stopping
        self._cond = threading.Condition()
        self._queue: deque[_Call] = deque()
        self._thread: threading.Thread | None = None

    def submit(
        self, tenant: str, specs: Sequence[JobSpec], now: datetime
    ) -> list[tuple[JobView, bool]]:
        """What :meth:`JobStore.submit` returns, stored together with concurrent calls."""
        call = _Call(tenant, specs, now)
        with self._cond:
            self._queue.append(call)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="submit-commit", daemon=True)
                self._thread.start()
            self._cond.notify()
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.result

    def _take(self) -> list[_Call] | None:
        """The next group; ``None`` once stopping with nothing queued."""
        with self._cond:
            while not self._queue:
                if self.stopping.is_set():
                    self._thread = None
                    return None
                self._cond.wait(IDLE_CHECK_S)
            group = [self._queue.popleft()]
            jobs = len(group[0].specs)
            while self._queue and jobs + len(self._queue[0].specs) <= MAX_GROUP_JOBS:
                call = self._queue.popleft()
                jobs += len(call.specs)
                group.append(call)
            return group

    def _run(self) -> None:
        while (group := self._take()) is not None:
            try:
                results = self.jobs.submit_groups([(c.tenant, c.specs, c.now) for c in group])
            except BaseException as exc:  # every caller gets the failure, none hangs
                for call in group:
                    call.error = exc
            else:
                for call, result in zip(group, results, strict=True):
                    call.result = result
            for call in group:
                call.done.set()
