"""Readers for recorded cloud traces (spot capacity over time)."""

from __future__ import annotations

from adapters.traces.spot import (
    Encoding,
    SpotTrace,
    TraceError,
    encoding_for,
    load_spot_trace,
    load_spot_traces,
)

__all__ = [
    "Encoding",
    "SpotTrace",
    "TraceError",
    "encoding_for",
    "load_spot_trace",
    "load_spot_traces",
]
