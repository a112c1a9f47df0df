"""Virtual time for a simulation: a clock the engine moves, and the event queue."""

from __future__ import annotations

import heapq
import itertools
from datetime import datetime, timedelta
from typing import Generic, TypeVar

T = TypeVar("T")


class VirtualClock:
    """Seconds since ``start``, moved forward only by the engine.

    ``now()`` is what the control loop, the stores and the simulated cloud read (an
    aware UTC datetime); ``monotonic()`` stands in for ``time.monotonic`` (the
    launcher's cooldowns and backoff).
    """

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the simulation start must be timezone-aware")
        self.start = start
        self._t = 0.0
        self._now = start

    @property
    def t(self) -> float:
        """Seconds since the start."""
        return self._t

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        return self._t

    def at(self, t: float) -> datetime:
        """The datetime ``t`` seconds after the start."""
        return self.start + timedelta(seconds=t)

    def seconds(self, when: datetime) -> float:
        """Seconds from the start to ``when``."""
        return (when - self.start).total_seconds()

    def advance_to(self, t: float) -> None:
        if t < self._t:
            raise ValueError(f"virtual time runs forward only: {t} < {self._t}")
        if t != self._t:
            self._t = t
            self._now = self.start + timedelta(seconds=t)


class EventQueue(Generic[T]):
    """Events by time; events at the same time come out in the order they were put in,
    so a simulation is deterministic."""

    def __init__(self) -> None:
        # (time, insertion number, event): the number is unique, so events never compare.
        self._heap: list[tuple[float, int, T]] = []
        self._seq = itertools.count()

    def __len__(self) -> int:
        return len(self._heap)

    def put(self, t: float, item: T) -> None:
        heapq.heappush(self._heap, (t, next(self._seq), item))

    def peek_time(self) -> float | None:
        return self._heap[0][0] if self._heap else None

    def pop(self) -> tuple[float, T]:
        t, _, item = heapq.heappop(self._heap)
        return t, item
