"""Reports over the store (or a simulation's output): what was delivered, and at what cost.

``sla`` computes the SLA report from frames (pure; ``facts`` adds up each job,
``misses`` finds the worst misses and their reasons, ``exact`` does the rounding);
``load`` reads those frames from a store; ``model`` is the report as frozen
dataclasses with its JSON form; ``html`` (with ``svg``) and ``csv`` render it: a
self-contained page with inline SVG charts, and CSV tables. See docs/reports.md for
what every number means.
"""

from __future__ import annotations

from scheduler.reports.model import (
    CostPeriod,
    GroupStats,
    HistogramBin,
    Lateness,
    Miss,
    SlaReport,
)
from scheduler.reports.sla import SlaInputs, check_range, sla_report

__all__ = [
    "CostPeriod",
    "GroupStats",
    "HistogramBin",
    "Lateness",
    "Miss",
    "SlaInputs",
    "SlaReport",
    "check_range",
    "sla_report",
]
