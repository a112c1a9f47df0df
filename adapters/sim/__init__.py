"""The simulated cloud: a :class:`~adapters.base.CloudPort` over a virtual clock, with
quotas, launch delays, capacity errors and spot capacity replayed from traces or drawn
from hazard rates (see :mod:`adapters.sim.cloud` for its conventions)."""

from __future__ import annotations

from adapters.sim.cloud import QuotaChange, SimCloud, SimNode
from adapters.sim.selectors import matches, resolve
from adapters.sim.spot import (
    AvailabilitySeries,
    PlannedPreemption,
    SpotSupply,
    hazard_lifetime_s,
)

__all__ = [
    "AvailabilitySeries",
    "PlannedPreemption",
    "QuotaChange",
    "SimCloud",
    "SimNode",
    "SpotSupply",
    "hazard_lifetime_s",
    "matches",
    "resolve",
]
