"""Spot availability traces: when spot capacity was there, one value per tick.

Two public trace sets are read here, both from the NSDI'24 paper "Can't Be Late"
(Wu et al.), with the same file layout::

    {"metadata": {"gap_seconds": 600, ...}, "data": [0, 1, 1, ...]}

but *opposite* meanings of the values:

- ``skypilot-spot-traces/`` (:attr:`Encoding.AVAILABLE_COUNT`): each value is the
  number of spot nodes that could be had at that tick (single-node files: 1 =
  available, 0 = not). Spot is available for a job of ``nodes`` nodes when the count
  is at least ``nodes``.
- ``skypilot_spot_strategy_random_start/`` (:attr:`Encoding.PREEMPTED_FLAG`): the
  slices the paper's simulator reads, where 1 = preempted / unavailable and 0 =
  available.

A trace is returned as a boolean array ``available[k]`` for tick ``k`` (the interval
``[k * gap_s, (k + 1) * gap_s)`` after the trace's start) whatever the source's
encoding, so no caller ever sees the raw values. The encoding is always stated by
the caller or derived from the trace set's directory name (:func:`encoding_for`);
a file whose values do not fit the stated encoding is refused with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import numpy as np
import numpy.typing as npt

BOOL = npt.NDArray[np.bool_]

#: Directory names of the two trace sets, for :func:`encoding_for`.
AVAILABLE_COUNT_DIR = "skypilot-spot-traces"
PREEMPTED_FLAG_DIR = "skypilot_spot_strategy_random_start"


class Encoding(StrEnum):
    #: Value = spot nodes available at the tick (``skypilot-spot-traces``).
    AVAILABLE_COUNT = "available-count"
    #: Value 1 = preempted / unavailable, 0 = available (``..._random_start``).
    PREEMPTED_FLAG = "preempted-flag"


class TraceError(ValueError):
    """A trace file that cannot be read as the stated encoding (names file and why)."""


@dataclass(frozen=True)
class SpotTrace:
    #: File stem, e.g. ``us-west-2a_v100_1`` (random-start slices: ``<dir>/<stem>``).
    name: str
    #: Where it was read from.
    source: str
    encoding: Encoding
    #: Seconds between two ticks.
    gap_s: int
    #: Per tick: could a spot node be had then.
    available: BOOL
    #: ``metadata.start_time`` when the file gives one (ISO 8601), else "".
    start_time: str = ""

    @property
    def ticks(self) -> int:
        return int(self.available.size)

    @property
    def hours(self) -> float:
        return self.ticks * self.gap_s / 3600

    @property
    def availability(self) -> float:
        """Share of ticks with spot available."""
        return float(self.available.mean()) if self.available.size else 0.0

    def preemptions_per_hour(self) -> float:
        """Available -> unavailable transitions per hour spent available: the
        trace's spot hazard (what a cost model would fit from this history)."""
        a = self.available
        hours_up = float(a.sum()) * self.gap_s / 3600
        drops = int((a[:-1] & ~a[1:]).sum())
        return drops / hours_up if hours_up > 0 else 0.0


def encoding_for(path: str | Path) -> Encoding:
    """The encoding of a file of one of the two known trace sets, by directory name;
    :class:`TraceError` for a file of neither."""
    parts = Path(path).parts
    if PREEMPTED_FLAG_DIR in parts:
        return Encoding.PREEMPTED_FLAG
    if AVAILABLE_COUNT_DIR in parts:
        return Encoding.AVAILABLE_COUNT
    raise TraceError(
        f"{path}: not under {AVAILABLE_COUNT_DIR}/ or {PREEMPTED_FLAG_DIR}/; "
        "state the encoding explicitly"
    )


def load_spot_trace(
    path: str | Path, encoding: Encoding | None = None, *, nodes: int = 1
) -> SpotTrace:
    """Read one trace file. ``encoding`` defaults to :func:`encoding_for` the path;
    ``nodes``: spot counts as available when at least this many nodes are (only for
    :attr:`Encoding.AVAILABLE_COUNT`)."""
    p = Path(path)
    enc = encoding if encoding is not None else encoding_for(p)
    if nodes < 1:
        raise TraceError(f"{p}: nodes must be at least 1, not {nodes}")
    try:
        raw = json.loads(p.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise TraceError(f"{p}: cannot read: {exc}") from exc
    if not isinstance(raw, dict) or not isinstance(raw.get("data"), list):
        raise TraceError(f'{p}: expected an object with a "data" list')
    meta = raw.get("metadata")
    gap = meta.get("gap_seconds") if isinstance(meta, dict) else None
    if isinstance(gap, bool) or not isinstance(gap, int | float) or gap <= 0 or gap != int(gap):
        raise TraceError(f"{p}: metadata.gap_seconds must be a positive whole number, not {gap!r}")
    values = raw["data"]
    if not values:
        raise TraceError(f"{p}: empty data")
    bad = next(
        (
            (k, v)
            for k, v in enumerate(values)
            if isinstance(v, bool) or not isinstance(v, int) or v < 0
        ),
        None,
    )
    if bad is not None:
        raise TraceError(f"{p}: data[{bad[0]}] = {bad[1]!r} is not a count (whole number >= 0)")
    arr = np.asarray(values, dtype=np.int64)
    if enc is Encoding.PREEMPTED_FLAG:
        if int(arr.max()) > 1:
            k = int(np.argmax(arr > 1))
            raise TraceError(f"{p}: data[{k}] = {int(arr[k])}; a preempted flag is 0 or 1")
        available = arr == 0
    else:
        available = arr >= nodes
    start = meta.get("start_time", "") if isinstance(meta, dict) else ""
    name = p.stem if enc is Encoding.AVAILABLE_COUNT else f"{p.parent.name}/{p.stem}"
    return SpotTrace(
        name=name,
        source=str(p),
        encoding=enc,
        gap_s=int(gap),
        available=available.astype(bool),
        start_time=str(start) if start else "",
    )


def load_spot_traces(
    directory: str | Path, encoding: Encoding | None = None, *, nodes: int = 1
) -> list[SpotTrace]:
    """Every ``*.json`` trace in ``directory`` (not recursive), sorted by name."""
    d = Path(directory)
    if not d.is_dir():
        raise TraceError(f"{d}: not a directory")
    return [load_spot_trace(f, encoding, nodes=nodes) for f in sorted(d.glob("*.json"))]


def same_gap(traces: Sequence[SpotTrace]) -> int:
    """The one gap all ``traces`` share; :class:`TraceError` when they differ."""
    gaps = {t.gap_s for t in traces}
    if len(gaps) != 1:
        raise TraceError(f"traces tick at different gaps: {sorted(gaps)}")
    return gaps.pop()
