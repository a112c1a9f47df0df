"""When the local cloud reclaims a spot node.

Two sources of preemption, combined by taking the earlier one:

- a *schedule* for tests and demos: "the N-th spot node this cloud launches is
  preempted ``after_s`` seconds after it started" (N counted durably per state dir);
- a *hazard*: each spot node gets an exponential lifetime with rate
  ``hazard_per_hour`` per simulated hour, or its region's rate in
  ``hazard_by_region`` when that lists the region. ``time_scale`` simulated seconds
  pass per real second, so a 0.5/h hazard can bite during a five-minute demo. The
  draw uses ``random.Random(f"{seed}:{node_id}")``, so it depends only on the seed
  and the node id (and the rate): reproducible across runs and across driver
  restarts, and independent of the order in which nodes were launched.

``hazard_per_hour`` is what the cloud advertises (the offerings' prior);
``hazard_by_region`` is the truth the scheduler is not told, so that a noisier
region has to be learned from history.

Everything here is pure; the driver persists the resulting deadline with the node.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from dataclasses import dataclass, field


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
    ``hazard_by_region`` overrides ``hazard_per_hour`` (same unit: per simulated
    hour) for the regions it lists.
    """

    grace_s: float = 5.0
    schedule: tuple[ScheduledPreemption, ...] = ()
    hazard_per_hour: float = 0.0
    time_scale: float = 1.0
    seed: int = 0
    # hash=False: a mapping is not hashable; equal policies still hash equal.
    hazard_by_region: Mapping[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if self.grace_s < 0:
            raise ValueError(f"grace_s must be >= 0, got {self.grace_s}")
        if self.hazard_per_hour < 0:
            raise ValueError(f"hazard_per_hour must be >= 0, got {self.hazard_per_hour}")
        if not self.time_scale > 0:
            raise ValueError(f"time_scale must be > 0, got {self.time_scale}")
        for region, hazard in self.hazard_by_region.items():
            if not (hazard >= 0 and math.isfinite(hazard)):
                raise ValueError(f"hazard_by_region[{region!r}] must be >= 0, got {hazard}")
        # A copy: the caller's dict changing later must not change the policy. (A plain
        # dict, not a MappingProxyType, so the policy still pickles and deep-copies.)
        object.__setattr__(self, "hazard_by_region", dict(self.hazard_by_region))

    def hazard_for(self, region: str | None) -> float:
        """The true hazard per simulated hour in ``region`` (None: the default)."""
        if region is not None and region in self.hazard_by_region:
            return self.hazard_by_region[region]
        return self.hazard_per_hour


def random_lifetime_s(
    policy: PreemptionPolicy, node_id: str, region: str | None = None
) -> float | None:
    """Real seconds a spot node in ``region`` lives before the hazard takes it, or None
    (no hazard there)."""
    hazard = policy.hazard_for(region)
    if hazard <= 0:
        return None
    rate_per_real_s = hazard * policy.time_scale / 3600.0
    lifetime = random.Random(f"{policy.seed}:{node_id}").expovariate(rate_per_real_s)
    return lifetime if math.isfinite(lifetime) else None


def preempt_after_s(
    policy: PreemptionPolicy, node_id: str, spot_seq: int, region: str | None = None
) -> float | None:
    """Seconds after start at which spot node ``spot_seq`` (1-based) in ``region`` is
    preempted."""
    candidates = [s.after_s for s in policy.schedule if s.nth_spot_launch == spot_seq]
    lifetime = random_lifetime_s(policy, node_id, region)
    if lifetime is not None:
        candidates.append(lifetime)
    return min(candidates) if candidates else None
