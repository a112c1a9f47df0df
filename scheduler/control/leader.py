"""Leader election among replicas: exactly one runs the control loop.

Every replica serves the API; the holder of the store's leader lock
(:mod:`scheduler.store.leader`) also plans, launches, reconciles, refits and fetches
bills. :class:`LeaderElection` runs on a thread of its own: every ``interval_s`` a
standby tries to take the lock, and the leader checks that it still holds it (fencing:
a leader whose lock connection failed steps down at once, before its next tick, and
stops launching). Each term has its own stop event, set when the term ends; the
service's threads for that term watch it. A graceful stop ends the term, then releases
the lock, so a standby takes over within one interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from scheduler.store.leader import LeaderLock

log = logging.getLogger(__name__)


class LeaderElection:
    def __init__(
        self,
        lock: LeaderLock,
        *,
        on_elected: Callable[[threading.Event], None],
        on_deposed: Callable[[], None],
        interval_s: float = 1.0,
        name: str = "",
    ) -> None:
        """``on_elected(term)`` starts the leader's work, which stops when ``term`` is
        set; ``on_deposed()`` runs after ``term`` was set (to wait for that work)."""
        self.lock = lock
        self.on_elected = on_elected
        self.on_deposed = on_deposed
        self.interval_s = interval_s
        self.name = name
        self._term: threading.Event | None = None
        self.terms = 0

    @property
    def leading(self) -> bool:
        term = self._term
        return term is not None and not term.is_set()

    def step(self) -> None:
        """One round: a standby tries to lead; the leader checks its lock."""
        if self._term is not None:
            if not self.lock.held():
                log.warning("%s lost the leader lock: stepping down", self.name or "replica")
                self._end_term()
            return
        if self.lock.try_acquire():
            self.terms += 1
            self._term = threading.Event()
            log.info("%s is the leader now (term %d)", self.name or "replica", self.terms)
            try:
                self.on_elected(self._term)
            except Exception:
                log.exception("starting the leader's work failed; giving the lock up")
                self._end_term()

    def run(self, stop: threading.Event) -> None:
        """Elect until ``stop`` is set; then end the term and release the lock."""
        try:
            while not stop.is_set():
                try:
                    self.step()
                except Exception:  # never let the election thread die
                    log.exception("leader election round failed")
                stop.wait(self.interval_s)
        finally:
            if self._term is not None:
                log.info("%s stops leading (shutting down)", self.name or "replica")
                self._end_term()

    def _end_term(self) -> None:
        term, self._term = self._term, None
        if term is not None:
            term.set()
            self.on_deposed()
        self.lock.release()
