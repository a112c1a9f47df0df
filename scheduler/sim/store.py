"""The control loop's store for a simulation: the real one, with its reads remembered
until a write could change them.

A tick reads the same things several times (live attempts in the planner and twice in
the reconciler), and every read costs about a millisecond however little changed. A
simulation is the only writer of its store, and every write goes through this class,
so a read can be answered from memory with what the database would return, as long as
no write since could have changed it:

- which write can change which read is stated in :data:`STALE` and
  :data:`JOB_STATES`, from what each :class:`~scheduler.store.AttemptStore` method
  changes; a write that fails forgets everything;
- the most frequent writes (a node recorded or terminated, a heartbeat) update the
  remembered reads they change, exactly as the store changes its rows, instead of
  forgetting them;
- the job side (:class:`~scheduler.store.JobStore`) writes too: the engine calls
  :meth:`CachedAttemptStore.submitted` after each submission. A simulation cancels no
  jobs (``JobStore.cancel`` would need :meth:`CachedAttemptStore.forget`).

``tests/unit/scheduler/test_sim_store.py`` checks, over random sequences of writes,
that every remembered read equals a fresh one. The loop's behaviour does not change:
it gets the same answers, sooner.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any, TypeVar

from scheduler.domain import AttemptState, AttemptView, JobState, JobView, Placement
from scheduler.store import AttemptStore, LiveAttempt

T = TypeVar("T")

#: Public methods of AttemptStore that only read (remembered here) and those that
#: write. A test checks that every public method of AttemptStore is in one of the two,
#: so a new store method cannot slip through unnoticed.
READS = frozenset({"jobs_in", "live_attempts", "known_node_ids", "nodes_to_terminate", "attempt"})
WRITES = frozenset(
    {
        "plan",
        "plan_many",
        "note_waiting",
        "note_waiting_many",
        "unplan",
        "start_attempt",
        "attempt_launched",
        "launch_failed",
        "node_lost",
        "node_terminated",
        "heartbeat",
        "report_checkpoint",
        "finish",
        "secret",
    }
)

#: What each write makes stale, by kind of remembered read: ``jobs`` (``jobs_in``),
#: ``live`` (``live_attempts``), ``known`` (``known_node_ids``), ``ntt``
#: (``nodes_to_terminate``: a node up whose attempt is over or whose job ended),
#: ``attempt`` (``attempt``). Derived from what each method of AttemptStore changes:
#:
#: - planning (``plan``, ``note_waiting``, ``unplan``) changes only PENDING and PLANNED
#:   jobs, and such a job never has a live attempt (an attempt ends before its job goes
#:   back to PENDING; one starts only as its job leaves PLANNED), so live attempts and
#:   their jobs' states are untouched, and so are nodes;
#: - ``start_attempt`` adds a live attempt without a node; ``heartbeat`` changes a live
#:   attempt and its job, which stay live and not over; ``report_checkpoint`` changes
#:   a job's checkpoint fields only (not in a live attempt's view);
#: - ending an attempt (``launch_failed``, ``node_lost``, ``finish``) may change anything
#:   but the set of node ids;
#: - ``attempt_launched``, ``node_terminated`` and ``heartbeat`` are special-cased
#:   below (they update what they change).
STALE: dict[str, frozenset[str]] = {
    "submit": frozenset({"jobs"}),
    "plan": frozenset({"jobs", "attempt"}),
    "note_waiting": frozenset({"jobs", "attempt"}),
    "unplan": frozenset({"jobs", "attempt"}),
    "start_attempt": frozenset({"jobs", "live", "attempt"}),
    "attempt_launched": frozenset({"live", "known", "ntt", "attempt"}),
    "heartbeat": frozenset({"jobs", "live", "attempt"}),
    "report_checkpoint": frozenset({"jobs", "attempt"}),
    "launch_failed": frozenset({"jobs", "live", "ntt", "attempt"}),
    "node_lost": frozenset({"jobs", "live", "ntt", "attempt"}),
    "finish": frozenset({"jobs", "live", "ntt", "attempt"}),
    "node_terminated": frozenset({"jobs", "live", "ntt", "attempt"}),
    "secret": frozenset(),
}

_ALL_STATES = frozenset(JobState)
_TERMINAL = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
#: The job states whose ``jobs_in`` a write can change (the states its jobs are in
#: before and after it); a remembered ``jobs_in`` of other states survives it. A live
#: attempt's job is LAUNCHING or RUNNING, or over (then a heartbeat leaves it alone,
#: and ending the attempt only adds to its cost), never PENDING or PLANNED; ending an
#: attempt moves its job anywhere but PLANNED; ``report_checkpoint`` may touch a job in
#: any state.
JOB_STATES: dict[str, frozenset[JobState]] = {
    "submit": frozenset({JobState.PENDING}),
    "plan": frozenset({JobState.PENDING, JobState.PLANNED}),
    "note_waiting": frozenset({JobState.PENDING}),
    "unplan": frozenset({JobState.PENDING, JobState.PLANNED}),
    "start_attempt": frozenset({JobState.PLANNED, JobState.LAUNCHING}),
    "heartbeat": frozenset({JobState.LAUNCHING, JobState.RUNNING}),
    "launch_failed": _ALL_STATES - {JobState.PLANNED},
    "node_lost": _ALL_STATES - {JobState.PLANNED},
    "finish": _ALL_STATES - {JobState.PLANNED},
    "node_terminated": _TERMINAL,
}

_LIVE = ("live",)
_KNOWN = ("known",)
_NTT = ("ntt",)


class CachedAttemptStore(AttemptStore):
    """:class:`~scheduler.store.AttemptStore` with reads remembered (module docstring)."""

    def __init__(self, *args: Any, remember: bool = True, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: False: every read goes to the database (to measure what remembering saves).
        self.remember = remember
        self._memo: dict[tuple[object, ...], object] = {}
        #: Attempts started through this object and not ended since (so: live, and
        #: their jobs not over, as a simulation cancels no jobs).
        self._live_ids: set[str] = set()
        #: Attempts whose node was recorded through this object.
        self._with_node: set[str] = set()
        self.hits = 0
        self.misses = 0
        #: Writes per method (a measure of what a run costs).
        self.writes: dict[str, int] = {}

    # -- bookkeeping --------------------------------------------------------------------

    def forget(self, *kinds: str) -> None:
        """Forget remembered reads of these kinds (``jobs``, ``live``, ``known``,
        ``ntt``, ``attempt``; none given: all)."""
        if kinds:
            self._memo = {k: v for k, v in self._memo.items() if k[0] not in kinds}
        else:
            self._memo.clear()

    def submitted(self) -> None:
        """A job was submitted (through the job store)."""
        self._stale("submit")

    def _stale(self, name: str, gone: frozenset[str] | None = None) -> None:
        gone = STALE[name] if gone is None else gone
        if gone:
            states = JOB_STATES.get(name, _ALL_STATES)
            self._memo = {
                k: v
                for k, v in self._memo.items()
                if k[0] not in gone or (k[0] == "jobs" and states.isdisjoint(k[1:]))
            }
        self.writes[name] = self.writes.get(name, 0) + 1

    def _write(self, name: str, call: Callable[[], T], gone: frozenset[str] | None = None) -> T:
        try:
            result = call()
        except BaseException:
            self.forget()
            raise
        self._stale(name, gone)
        return result

    def _remember(self, key: tuple[object, ...], read: Callable[[], T]) -> T:
        if key in self._memo:
            self.hits += 1
            return self._memo[key]  # type: ignore[return-value]
        self.misses += 1
        value = read()
        if self.remember:
            self._memo[key] = value
        return value

    def _live(self) -> list[LiveAttempt] | None:
        found = self._memo.get(_LIVE)
        return found if isinstance(found, list) else None

    # -- reads (callers get their own container; the views in it are frozen) -----------

    def jobs_in(self, *states: JobState) -> list[JobView]:
        return list(
            self._remember(
                ("jobs", *states), lambda: super(CachedAttemptStore, self).jobs_in(*states)
            )
        )

    def live_attempts(self) -> list[LiveAttempt]:
        return list(self._remember(_LIVE, super().live_attempts))

    def known_node_ids(self) -> set[str]:
        return set(self._remember(_KNOWN, super().known_node_ids))

    def nodes_to_terminate(self) -> list[tuple[str, str]]:
        return list(self._remember(_NTT, super().nodes_to_terminate))

    def attempt(self, attempt_id: str) -> tuple[AttemptView, JobView] | None:
        return self._remember(
            ("attempt", attempt_id), lambda: super(CachedAttemptStore, self).attempt(attempt_id)
        )

    # -- writes -------------------------------------------------------------------------

    def plan(self, job_id: str, offering_id: str, now: datetime, detail: str = "") -> bool:
        return self._write(
            "plan", lambda: super(CachedAttemptStore, self).plan(job_id, offering_id, now, detail)
        )

    def note_waiting(self, job_id: str, reason: str, now: datetime) -> None:
        self._write(
            "note_waiting",
            lambda: super(CachedAttemptStore, self).note_waiting(job_id, reason, now),
        )

    def plan_many(self, decisions: Sequence[tuple[str, str, str]], now: datetime) -> int:
        return self._write(
            "plan", lambda: super(CachedAttemptStore, self).plan_many(decisions, now)
        )

    def note_waiting_many(self, waiting: Sequence[tuple[str, str]], now: datetime) -> None:
        self._write(
            "note_waiting",
            lambda: super(CachedAttemptStore, self).note_waiting_many(waiting, now),
        )

    def unplan(self, job_id: str, reason: str, now: datetime) -> None:
        self._write("unplan", lambda: super(CachedAttemptStore, self).unplan(job_id, reason, now))

    def start_attempt(self, job_id: str, placement: Placement, now: datetime) -> AttemptView | None:
        view = self._write(
            "start_attempt",
            lambda: super(CachedAttemptStore, self).start_attempt(job_id, placement, now),
        )
        if view is not None:
            self._live_ids.add(view.id)
        return view

    def attempt_launched(
        self, attempt_id: str, *, node_id: str, region: str, instance_type: str, now: datetime
    ) -> None:
        """The store gives the attempt its node and records the node, unless the attempt
        has one already. For an attempt started here and given no node yet, that is:
        one more node id, no node to terminate (its attempt is live, its job not over),
        and the live attempt's view gets the node."""
        fresh = attempt_id in self._live_ids and attempt_id not in self._with_node
        known, ntt, live = self._memo.get(_KNOWN), self._memo.get(_NTT), self._live()
        self._write(
            "attempt_launched",
            lambda: super(CachedAttemptStore, self).attempt_launched(
                attempt_id, node_id=node_id, region=region, instance_type=instance_type, now=now
            ),
        )
        self._with_node.add(attempt_id)
        if not fresh:
            return
        if isinstance(known, set):
            self._memo[_KNOWN] = known | {node_id}
        if ntt is not None:
            self._memo[_NTT] = ntt
        if live is not None:
            self._memo[_LIVE] = [
                LiveAttempt(replace(la.attempt, node_id=node_id), la.job_state, now)
                if la.attempt.id == attempt_id
                else la
                for la in live
            ]

    def launch_failed(self, attempt_id: str, reason: str, now: datetime) -> None:
        self._live_ids.discard(attempt_id)
        self._write(
            "launch_failed",
            lambda: super(CachedAttemptStore, self).launch_failed(attempt_id, reason, now),
        )

    def node_lost(self, attempt_id: str, *, preempted: bool, reason: str, now: datetime) -> None:
        self._live_ids.discard(attempt_id)
        self._write(
            "node_lost",
            lambda: super(CachedAttemptStore, self).node_lost(
                attempt_id, preempted=preempted, reason=reason, now=now
            ),
        )

    def node_terminated(self, node_id: str, now: datetime) -> None:
        """The node leaves the nodes to terminate. Only a node under a live attempt can
        change more (the attempt is cancelled when its job is over); whether it is one,
        the remembered live attempts tell."""
        live, ntt = self._live(), self._memo.get(_NTT)
        under = [la.attempt.id for la in live or () if la.attempt.node_id == node_id]
        self._live_ids.difference_update(under)
        quiet = live is not None and not under
        self._write(
            "node_terminated",
            lambda: super(CachedAttemptStore, self).node_terminated(node_id, now),
            gone=frozenset({"ntt"}) if quiet else None,
        )
        if isinstance(ntt, list):
            self._memo[_NTT] = [n for n in ntt if n[1] != node_id]

    def heartbeat(self, attempt_id: str, progress: float, now: datetime) -> bool:
        """On a live attempt of a job not over, the store records the heartbeat on the
        attempt and the job; otherwise it changes nothing and says stop. The heartbeat
        of a RUNNING attempt changes only its progress and time, not the order the
        store lists live attempts in (by state), so the live attempts are updated; the
        first one (LAUNCHING becomes RUNNING) makes them stale."""
        live = self._live()
        go_on = self._write(
            "heartbeat",
            lambda: super(CachedAttemptStore, self).heartbeat(attempt_id, progress, now),
        )
        mine = [la for la in live or () if la.attempt.id == attempt_id]
        if not go_on or live is None or not mine:
            return go_on
        if mine[0].attempt.state is AttemptState.RUNNING and mine[0].job_state is JobState.RUNNING:
            beat = LiveAttempt(
                replace(mine[0].attempt, last_heartbeat=now, progress=progress),
                JobState.RUNNING,
                mine[0].launched_at,
            )
            self._memo[_LIVE] = [beat if la.attempt.id == attempt_id else la for la in live]
        return go_on

    def report_checkpoint(self, attempt_id: str, seq: int, progress: float, now: datetime) -> None:
        self._write(
            "report_checkpoint",
            lambda: super(CachedAttemptStore, self).report_checkpoint(
                attempt_id, seq, progress, now
            ),
        )

    def finish(
        self, attempt_id: str, exit_code: int, interrupted: bool, message: str, now: datetime
    ) -> None:
        self._live_ids.discard(attempt_id)
        self._write(
            "finish",
            lambda: super(CachedAttemptStore, self).finish(
                attempt_id, exit_code, interrupted, message, now
            ),
        )

    def secret(self, name: str) -> str:
        return self._write("secret", lambda: super(CachedAttemptStore, self).secret(name))
