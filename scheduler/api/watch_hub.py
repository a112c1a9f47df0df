"""One reader of new job events for every ``WatchJobs`` stream of this process.

Each stream used to query the store after every commit: 100 streams, 100 queries per
commit. The hub's thread reads the new events once (woken by commits in this process,
and every :data:`POLL_S` for other replicas' writes) and hands each to the streams it
concerns. A stream catches up from the store first:

- subscribing records the hub's position ``p`` (every event up to ``p`` was read by the
  hub before, every later one will be handed to the stream);
- the stream reads its events after its cursor up to ``p`` from the store, then takes
  what the hub hands it (skipping anything at or before its cursor).

A stream that falls more than :data:`BACKLOG` events behind loses its queue and
catches up from the store again, up to the hub's position at that moment. Event
sequence numbers commit in order (writers are serialized, see ``store.engine``), so
"after ``p``" misses nothing.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from types import TracebackType

from scheduler.domain import JobEvent
from scheduler.store import JobStore

#: Streams one server serves at once; each holds a gRPC thread (see ``api.server``), so
#: more are refused (RESOURCE_EXHAUSTED) before they start.
MAX_STREAMS = 256
#: Events queued for one stream before it is sent back to the store to catch up.
BACKLOG = 10_000
#: How often the hub looks for events committed by other processes (replicas).
POLL_S = 0.5
#: Events read per query.
PAGE = 1_000


class Subscription:
    """A stream's mailbox. Use as a context manager: leaving it unsubscribes."""

    def __init__(self, hub: WatchHub, tenant: str, job_ids: Sequence[str], position: int) -> None:
        self.hub = hub
        self.tenant = tenant
        self.job_ids = frozenset(job_ids)
        self._cond = threading.Condition()
        self._queue: deque[JobEvent] = deque()
        #: Catch up from the store up to here before taking queued events (None: done).
        self._resync: int | None = position

    def wants(self, event: JobEvent) -> bool:
        return event.tenant == self.tenant and (not self.job_ids or event.job_id in self.job_ids)

    def offer(self, events: list[JobEvent], position: int) -> None:
        """The hub's hand-over of events up to ``position`` (those this stream wants)."""
        with self._cond:
            if self._resync is None and len(self._queue) + len(events) > BACKLOG:
                self._queue.clear()
                self._resync = position
            elif self._resync is not None and not self._queue:
                # Still catching up: the store has these; just move the target.
                self._resync = max(self._resync, position)
            else:
                self._queue.extend(events)
            self._cond.notify()

    def take(self, timeout: float) -> tuple[list[JobEvent], int | None]:
        """Queued events, or the position to catch up to from the store first."""
        with self._cond:
            if self._resync is None and not self._queue:
                self._cond.wait(timeout)
            resync, self._resync = self._resync, None
            if resync is not None:
                return [], resync
            events = list(self._queue)
            self._queue.clear()
            return events, None

    def __enter__(self) -> Subscription:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.hub.unsubscribe(self)


class WatchHub:
    def __init__(
        self, jobs: JobStore, stopping: threading.Event, *, max_streams: int = MAX_STREAMS
    ) -> None:
        self.jobs = jobs
        self.stopping = stopping
        self.max_streams = max_streams
        self._lock = threading.Lock()
        self._subs: list[Subscription] = []
        self._position = 0
        self._thread: threading.Thread | None = None

    @property
    def full(self) -> bool:
        """Whether every stream slot is taken (checked before a stream starts)."""
        return len(self._subs) >= self.max_streams

    def subscribe(self, tenant: str, job_ids: Sequence[str] = ()) -> Subscription:
        with self._lock:
            if self._thread is None:
                self._position = self.jobs.last_event_seq()
                self._thread = threading.Thread(target=self._run, name="watch-hub", daemon=True)
                self._thread.start()
            sub = Subscription(self, tenant, job_ids, self._position)
            self._subs.append(sub)
            return sub

    def unsubscribe(self, sub: Subscription) -> None:
        with self._lock:
            if sub in self._subs:
                self._subs.remove(sub)

    def _run(self) -> None:
        bus = self.jobs.db.bus
        while not self.stopping.is_set():
            seen = bus.generation()
            with self._lock:
                if not self._subs:
                    self._thread = None
                    return
                after = self._position
            events = self.jobs.events_after(None, after, limit=PAGE)
            if events:
                self._publish(events)
            if len(events) < PAGE:
                bus.wait(seen, timeout=POLL_S)
        with self._lock:
            self._thread = None

    def _publish(self, events: list[JobEvent]) -> None:
        position = events[-1].seq
        with self._lock:
            self._position = position
            for sub in self._subs:
                wanted = [e for e in events if sub.wants(e)]
                if wanted:
                    sub.offer(wanted, position)
