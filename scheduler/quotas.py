"""Quota pools as the planner sees them: the cloud's limit, what a quota error taught us,
and the admin's cap; the planner uses the least of them.

An admin cap only ever lowers a pool (a company keeps headroom in an account, or holds a
team's region to a share of it); it never raises a pool above what the cloud allows. A
cap is accepted only on a pool the clouds report, so a typo is caught when it is set.
"""

from __future__ import annotations

import difflib
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from adapters.base import Offering
from scheduler.errors import InvalidArgument

#: Longest pool id accepted, e.g. ``aws/us-east-1/spot-gpu:nvidia-a100`` is 34.
MAX_POOL_ID = 200
MAX_NOTE = 200
_POOL_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9/_:.+-]*")


@dataclass(frozen=True)
class QuotaCap:
    """An admin's cap on a pool, in the pool's units (vCPUs or GPUs)."""

    pool: str
    limit: float
    set_at: datetime
    set_by: str
    note: str = ""


@dataclass(frozen=True)
class PoolLimits:
    """One pool's limits; ``None`` where that source says nothing about it. At least one
    is set."""

    pool: str
    cloud: float | None = None
    learned: float | None = None
    cap: float | None = None

    @property
    def effective(self) -> float:
        """What the planner uses: the least of the limits known."""
        return min(x for x in (self.cloud, self.learned, self.cap) if x is not None)

    @property
    def reported(self) -> bool:
        """A cloud knows this pool (it listed it, or one of its quota errors named it)."""
        return self.cloud is not None or self.learned is not None


@dataclass(frozen=True)
class QuotaStatus:
    """A pool's limits, its cap's record, and what live attempts hold in it now."""

    limits: PoolLimits
    cap: QuotaCap | None
    in_use: float


def check_pool_id(text: str, field: str = "pool") -> str:
    if not text:
        raise InvalidArgument(field, "required, e.g. local/us-central1/vcpu")
    if len(text) > MAX_POOL_ID:
        raise InvalidArgument(field, f"at most {MAX_POOL_ID} characters")
    if not _POOL_ID.fullmatch(text):
        raise InvalidArgument(field, f"{text!r} is not a pool id (cloud/region/resource)")
    return text


def check_limit(value: float, field: str = "limit") -> float:
    if not math.isfinite(value):
        raise InvalidArgument(field, "must be a finite number")
    if value < 0:
        raise InvalidArgument(field, "must be >= 0")
    return float(value)


def check_note(text: str, field: str = "note") -> str:
    if len(text) > MAX_NOTE:
        raise InvalidArgument(field, f"at most {MAX_NOTE} characters")
    return text


def unknown_pool(pool: str, known: Iterable[str], field: str = "pool") -> InvalidArgument:
    """The error for a pool no cloud reports: the close matches, else every pool."""
    names = sorted(known)
    close = difflib.get_close_matches(pool, names, n=3, cutoff=0.6)
    if close:
        hint = f"did you mean {', '.join(close)}?"
    elif names:
        hint = f"known pools: {', '.join(names)}"
    else:
        hint = "no cloud reports any pool"
    return InvalidArgument(field, f"no cloud reports a quota pool {pool!r}; {hint}")


def pools_in_use(
    offering_ids: Iterable[str], offerings: Mapping[str, Offering]
) -> dict[str, float]:
    """What nodes of these offerings (one per id, repeats counted) hold in each pool."""
    used: defaultdict[str, float] = defaultdict(float)
    for oid in offering_ids:
        off = offerings.get(oid)
        if off is None:
            continue
        for pool, amount in off.quota_draw:
            used[pool] += amount
    return dict(used)
