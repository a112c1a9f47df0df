"""A local node's life after launch: notices, reclaims, kills, crash recovery.

A node record moves ``pending -> running -> terminated``. The transitions here
send no signals: they take a record and the time and return the new record;
:func:`commit` persists it, then sends the signal it implies, under the state lock.
Every deadline (when to send a preemption notice, when to reclaim, when to SIGKILL a
node that ignored SIGTERM) is a field of the record, so whichever driver runs
:class:`Monitor` over the state dir carries it out, also after the driver that set it died.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from adapters.local import process
from adapters.local.state import PENDING, RUNNING, TERMINATED, NodeRecord, StateDir

log = logging.getLogger(__name__)

#: How often the monitor looks at every node (preemptions are at most this late).
MONITOR_POLL_S = 0.15


def now_utc() -> datetime:
    return datetime.now(UTC)


def running(record: NodeRecord, pid: int, start_time: int | None, now: datetime) -> NodeRecord:
    """The node's user data started as ``pid``; its preemption clock starts now."""
    after = record.preempt_after_s
    return replace(
        record,
        status=RUNNING,
        started_at=now,
        pid=pid,
        pid_start_time=start_time,
        preempt_at=now + timedelta(seconds=after) if after is not None else None,
    )


def terminating(record: NodeRecord, now: datetime, grace_s: float) -> NodeRecord:
    """We terminate the node (send SIGTERM); SIGKILL is due at ``kill_after``."""
    return replace(
        record,
        status=TERMINATED,
        terminated_at=now,
        kill_after=now + timedelta(seconds=grace_s),
        reclaim_at=None,
        reaped=record.pid is None,
    )


def noticed(record: NodeRecord, now: datetime, grace_s: float) -> NodeRecord:
    """The cloud announces it takes the spot node back (send SIGTERM)."""
    return replace(record, reclaim_at=now + timedelta(seconds=grace_s))


def reclaimed(record: NodeRecord, now: datetime) -> NodeRecord:
    """The cloud took the spot node back (send SIGKILL)."""
    return replace(record, status=TERMINATED, terminated_at=now, preempted=True, kill_after=now)


def advance(
    record: NodeRecord, now: datetime, *, notice_grace_s: float
) -> tuple[NodeRecord, signal.Signals | None]:
    """What is due for ``record``: its new version and the signal to send its group."""
    if record.status == PENDING:
        launcher_start = process.proc_start_time(record.launcher_pid)
        if launcher_start is not None and launcher_start == record.launcher_start_time:
            return record, None  # still booting
        return recover_launch(record, now), None
    if record.status == RUNNING:
        if record.reclaim_at is not None and now >= record.reclaim_at:
            return reclaimed(record, now), signal.SIGKILL
        due = record.preempt_at is not None and now >= record.preempt_at
        if record.reclaim_at is None and due:
            return noticed(record, now, notice_grace_s), signal.SIGTERM
        return record, None
    if record.reaped:
        return record, None
    if record.pid is None or not process.group_alive(record.pid, record.pid_start_time):
        return replace(record, reaped=True), None
    if record.kill_after is not None and now >= record.kill_after:
        return record, signal.SIGKILL
    return record, None


def commit(state: StateDir, old: NodeRecord, new: NodeRecord, sig: signal.Signals | None) -> None:
    """Persist ``new``, then signal the node's group: whoever the signal wakes (the
    worker, a test) must already see the state that explains it. Call under lock."""
    if new != old:
        state.write(new)
    if sig is not None and new.pid is not None:
        process.signal_group(new.pid, new.pid_start_time, sig)


def recover_launch(record: NodeRecord, now: datetime) -> NodeRecord:
    """The launcher died mid-launch: adopt the node's process, or fail the launch.

    The launcher records the pid right after spawning; dying in between would leak
    an unrecorded process, so look for it by the node id in its environment.
    """
    for pid in process.find_by_env("SKYBATCH_NODE_ID", record.node_id):
        stat = process.proc_stat(pid)
        if stat is not None and stat.pgrp == pid:  # the session leader is the node
            log.info("adopting node %s (pid %d) from a dead launcher", record.node_id, pid)
            return running(record, pid, stat.start_time, now)
    log.warning("node %s: launcher died before boot; launch failed", record.node_id)
    return replace(
        record, status=TERMINATED, terminated_at=now, reaped=True, error="launch interrupted"
    )


class Monitor:
    """Applies :func:`advance` to every node every :data:`MONITOR_POLL_S` seconds, and
    to single nodes at their deadlines; reaps exited children."""

    def __init__(self, state: StateDir, *, notice_grace_s: float) -> None:
        self._state = state
        self._notice_grace_s = notice_grace_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="local-cloud", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        process.reap_children()

    def tick(self) -> None:
        """One pass over all nodes."""
        process.reap_children()
        now = now_utc()
        with self._state.locked():
            for record in self._state.read_all():
                self._write_if_changed(record, now)

    def advance_one(self, node_id: str) -> None:
        with self._state.locked():
            record = self._state.read(node_id)
            if record is not None:
                self._write_if_changed(record, now_utc())

    def finish_later(
        self, node_id: str, deadline: datetime, *, until: Callable[[], bool] | None = None
    ) -> None:
        """Advance ``node_id`` at ``deadline``, or as soon as ``until()`` is true.

        A thread per call, so that it happens even when the monitor is not started.
        """

        def wait_and_advance() -> None:
            try:
                while (remaining := (deadline - now_utc()).total_seconds()) > 0:
                    process.reap_children()
                    if until is not None and until():
                        break
                    time.sleep(min(0.05, remaining))
                self.advance_one(node_id)
                process.reap_children()
            except Exception:  # a background thread has nobody to raise to
                log.exception("local cloud: finishing node %s failed", node_id)

        threading.Thread(target=wait_and_advance, name=f"finish-{node_id}", daemon=True).start()

    def _write_if_changed(self, record: NodeRecord, now: datetime) -> None:
        updated, sig = advance(record, now, notice_grace_s=self._notice_grace_s)
        commit(self._state, record, updated, sig)

    def _run(self) -> None:
        while not self._stop.wait(MONITOR_POLL_S):
            try:
                self.tick()
            except Exception:  # keep going; one bad tick must not stop preemptions
                log.exception("local cloud monitor tick failed")
