"""The interpreter tuned so that a planning tick does not stall the API threads.

While a control loop runs (:func:`loop_tuning`), two process-wide settings change, and
are restored when the last loop stops:

**GIL switch interval** (:data:`SWITCH_INTERVAL_S` instead of 5 ms). An API call
releases the GIL a dozen times (socket, SQLite, locks); each time the loop thread,
busy in Python building a plan over 10,000 jobs, took it and kept it for the whole
interval before the API thread got it back. A 2 ms insert transaction took 50-100 ms;
single-submit p99 was 10x the idle loop's (5 ms: 137 ms, 1 ms: 51 ms, 0.2 ms: 32 ms,
against 12 ms idle, measured in one process).

**Cyclic garbage collection.** A full collection walks every tracked object holding
the GIL. With 10,000 jobs pending the heap holds a quarter million of them (modules,
the last problem and plan, parsed specs, the tick's job views), and CPython started
one every few thousand allocations a tick made: 30-80 ms at a time, two or three times
a tick. Young collections run as before (most cyclic garbage dies young); full ones
run only at the loop's call, between ticks, every :data:`FULL_EVERY` ticks; after each
tick what is alive is frozen (``gc.freeze``), so the young collections skip it too.
Frozen objects still die by reference counting; garbage cycles among them wait for the
next full collection.
"""

from __future__ import annotations

import gc
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager

#: Seconds a thread may hold the GIL while another waits for it (CPython's default: 5 ms).
SWITCH_INTERVAL_S = 0.0005
#: Ticks between full collections (each one walks the whole heap once).
FULL_EVERY = 100
#: Generation-2 threshold while a loop runs: automatic full collections never come.
_NEVER = 2**30

_lock = threading.Lock()
_loops = 0
_saved: tuple[tuple[int, int, int], float] | None = None


@contextmanager
def loop_tuning() -> Iterator[None]:
    """The settings above, for as long as the ``with`` block (a loop) runs."""
    global _loops, _saved
    with _lock:
        if _loops == 0:
            thresholds = gc.get_threshold()
            _saved = (thresholds, sys.getswitchinterval())
            gc.set_threshold(thresholds[0], thresholds[1], _NEVER)
            sys.setswitchinterval(SWITCH_INTERVAL_S)
        _loops += 1
    try:
        yield
    finally:
        with _lock:
            _loops -= 1
            if _loops == 0 and _saved is not None:
                gc.unfreeze()
                gc.set_threshold(*_saved[0])
                sys.setswitchinterval(_saved[1])


def after_tick(ticks: int) -> None:
    """Between ticks: every :data:`FULL_EVERY`-th a full collection; then freeze."""
    if ticks % FULL_EVERY == 0:
        gc.unfreeze()
        gc.collect()
    gc.freeze()
