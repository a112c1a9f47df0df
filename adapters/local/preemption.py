"""When the local cloud reclaims a spot node.

Two sources of preemption, combined by taking the earlier one:

- a *schedule* for tests and demos: "the N-th spot node this cloud launches is
  preempted ``after_s`` seconds after it started" (N counted durably per state dir);
- a *hazard*: each spot node gets an exponential lifetime with rate
  ``hazard_per_hour`` per simulated hour. ``time_scale`` simulated seconds pass per
  real second, so a 0.5/h hazard can bite during a five-minute demo. The draw uses
  ``random.Random(f"{seed}:{node_id}")``, so it depends only on the seed and the
  node id: reproducible across runs and across driver restarts, and independent of
  the order in which nodes were launched.

Everything here is pure; the driver persists the resulting deadline with the node.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class ScheduledPreemption:
    """Preempt the ``nth_spot_launch``-th spot node (1-based) ``after_s`` real seconds
    after it started."""

    nth_spot_launch: int
    after_s: float

    def __post_init__(self) -> None:
        if self.nth_spot_launch < 1:
            raise ValueError(f"nth_spot_launch is 1-based, got {self.nth_spot_launch}")
        if self.after_s < 0:
            raise ValueError(f"after_s must be >= 0, got {self.after_s}")


@dataclass(frozen=True)
class PreemptionPolicy:
    """How the local cloud takes spot nodes back.

    ``grace_s`` is the time between the notice (SIGTERM to the node's process group)
    and the reclaim (SIGKILL, node TERMINATED with ``preempted=True``).
    """

    grace_s: float = 5.0
    schedule: tuple[ScheduledPreemption, ...] = ()
    hazard_per_hour: float = 0.0
    time_scale: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.grace_s < 0:
            raise ValueError(f"grace_s must be >= 0, got {self.grace_s}")
        if self.hazard_per_hour < 0:
            raise ValueError(f"hazard_per_hour must be >= 0, got {self.hazard_per_hour}")
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {self.time_scale}")


def random_lifetime_s(policy: PreemptionPolicy, node_id: str) -> float | None:
    """Real seconds a spot node lives before the hazard takes it, or None (no hazard)."""
    if policy.hazard_per_hour <= 0:
        return None
    rate_per_real_s = policy.hazard_per_hour * policy.time_scale / 3600.0
    lifetime = random.Random(f"{policy.seed}:{node_id}").expovariate(rate_per_real_s)
    return lifetime if math.isfinite(lifetime) else None


def preempt_after_s(policy: PreemptionPolicy, node_id: str, spot_seq: int) -> float | None:
    """Seconds after start at which spot node ``spot_seq`` (1-based) is preempted."""
    candidates = [s.after_s for s in policy.schedule if s.nth_spot_launch == spot_seq]
    lifetime = random_lifetime_s(policy, node_id)
    if lifetime is not None:
        candidates.append(lifetime)
    return min(candidates) if candidates else None
