"""When the simulated cloud has spot capacity, and when it takes a spot node back.

Three sources, combined per node by taking the earliest:

- an *availability series* per offering (:class:`AvailabilitySeries`): spot capacity is
  there or not, one boolean per step (replayed from a real trace, e.g. the "Can't Be
  Late" traces read by :mod:`adapters.traces.spot`). While it is not there, the offering
  is not listed and a launch fails with a capacity error; a node running when it goes
  away is preempted at that moment;
- a *hazard*: each spot node gets an exponential lifetime with the offering's true
  rate (preemptions per node-hour), drawn from ``random.Random`` seeded with the
  scenario seed, the offering id and the node's number among that offering's spot
  launches, so the draw depends only on those, not on wall time or launch order
  elsewhere;
- a *schedule* (:class:`PlannedPreemption`), as the local cloud's: "the N-th spot node
  this cloud launches is preempted ``after_s`` seconds after it is running".

Everything here is pure: times are POSIX seconds (floats) or aware datetimes.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class BooleanTrace(Protocol):
    """What :meth:`AvailabilitySeries.from_trace` reads (``adapters.traces.spot.SpotTrace``
    has it): one availability flag per tick of ``gap_s`` seconds."""

    @property
    def gap_s(self) -> int: ...

    @property
    def available(self) -> Iterable[Any]: ...


@dataclass(frozen=True)
class AvailabilitySeries:
    """Spot capacity over time: ``available[k]`` holds on ``[start + k*step_s,
    start + (k+1)*step_s)``. Before ``start`` the first value holds; after the end the
    last value holds, or (``repeat``) the series starts over.

    Values are True = capacity there (the encoding of ``skypilot-spot-traces``; a
    trace with the inverted encoding must be converted by its reader, see
    :mod:`adapters.traces.spot`).
    """

    start: datetime
    step_s: float
    available: tuple[bool, ...]
    repeat: bool = False
    # Run starts (seconds from ``start``) and their values, for bisection.
    _starts: tuple[float, ...] = field(init=False, repr=False, compare=False)
    _values: tuple[bool, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None:
            raise ValueError("AvailabilitySeries.start must be timezone-aware")
        if not (self.step_s > 0 and math.isfinite(self.step_s)):
            raise ValueError(f"step_s must be > 0, got {self.step_s}")
        if not self.available:
            raise ValueError("an availability series needs at least one value")
        flags = tuple(bool(v) for v in self.available)
        object.__setattr__(self, "available", flags)
        starts: list[float] = []
        values: list[bool] = []
        for k, v in enumerate(flags):
            if not values or values[-1] != v:
                starts.append(k * self.step_s)
                values.append(v)
        object.__setattr__(self, "_starts", tuple(starts))
        object.__setattr__(self, "_values", tuple(values))

    @classmethod
    def from_trace(
        cls, trace: BooleanTrace, start: datetime, *, offset_ticks: int = 0, repeat: bool = True
    ) -> AvailabilitySeries:
        """A trace's flags from tick ``offset_ticks`` on, starting at ``start``."""
        flags = [bool(v) for v in trace.available]
        offset = offset_ticks % len(flags) if flags else 0
        return cls(start, float(trace.gap_s), tuple(flags[offset:] + flags[:offset]), repeat)

    @classmethod
    def always(cls, start: datetime, available: bool = True) -> AvailabilitySeries:
        return cls(start, 3600.0, (available,))

    @property
    def period_s(self) -> float:
        return len(self.available) * self.step_s

    @property
    def constant(self) -> bool:
        return len(self._values) == 1

    def _locate(self, offset: float) -> tuple[int, float]:
        """(run index, start of the period the offset is in, in seconds from start)."""
        base = 0.0
        if self.repeat and offset >= self.period_s:
            base = math.floor(offset / self.period_s) * self.period_s
            offset -= base
        if offset < 0:
            return 0, base
        return bisect.bisect_right(self._starts, offset) - 1, base

    def available_at(self, t: float) -> bool:
        """Is capacity there at POSIX time ``t``?"""
        run, _ = self._locate(t - self.start.timestamp())
        return self._values[max(0, run)]

    def next_change(self, t: float) -> float | None:
        """The first POSIX time after ``t`` at which availability flips (None: never)."""
        if self.constant:
            return None
        origin = self.start.timestamp()
        offset = t - origin
        if offset < 0:
            return origin + self._starts[1]
        run, base = self._locate(offset)
        if run + 1 < len(self._starts):
            return origin + base + self._starts[run + 1]
        if not self.repeat:
            return None
        # The series starts over at the next period; it flips there if the last run's
        # value differs from the first's, else at the first flip of the next period.
        nxt = base + self.period_s
        if self._values[-1] != self._values[0]:
            return origin + nxt
        return origin + nxt + self._starts[1]

    def next_unavailable(self, t: float) -> float | None:
        """``t`` itself when capacity is gone at ``t``, else the first POSIX time after
        it when it goes (None: never)."""
        if not self.available_at(t):
            return t
        at: float | None = t
        while at is not None:
            at = self.next_change(at)
            if at is not None and not self.available_at(at):
                return at
        return None


@dataclass(frozen=True)
class PlannedPreemption:
    """Preempt the ``nth_spot_launch``-th spot node (1-based) a cloud launches
    ``after_s`` seconds after it is running (the local cloud's ``ScheduledPreemption``)."""

    nth_spot_launch: int
    after_s: float

    def __post_init__(self) -> None:
        if self.nth_spot_launch < 1:
            raise ValueError(f"nth_spot_launch is 1-based, got {self.nth_spot_launch}")
        if self.after_s < 0:
            raise ValueError(f"after_s must be >= 0, got {self.after_s}")


@dataclass(frozen=True)
class SpotSupply:
    """The truth about one spot offering: when capacity is there (None: always) and
    how often a running node is taken back anyway (preemptions per node-hour)."""

    availability: AvailabilitySeries | None = None
    hazard_per_hour: float = 0.0

    def __post_init__(self) -> None:
        if not (self.hazard_per_hour >= 0 and math.isfinite(self.hazard_per_hour)):
            raise ValueError(f"hazard_per_hour must be >= 0, got {self.hazard_per_hour}")


def hazard_lifetime_s(seed: int, offering_id: str, n: int, hazard_per_hour: float) -> float | None:
    """Seconds the ``n``-th spot node of ``offering_id`` lives before the hazard takes it
    (None: no hazard)."""
    if hazard_per_hour <= 0:
        return None
    lifetime = random.Random(f"{seed}:{offering_id}:{n}").expovariate(hazard_per_hour / 3600.0)
    return lifetime if math.isfinite(lifetime) else None
