"""What the local cloud really charges and how often it really preempts, and the
workload that runs into it.

The scheduler's catalog lists the local cloud at Google's list prices and advertises
one spot hazard everywhere (:class:`~adapters.local.profile.LocalProfile`). The
:class:`Truth` differs, and only the FOCUS bill and the attempts' history show it:

- a negotiated 30% discount on ``n2-*`` on demand in europe-west4 (multiplier 0.70);
- spot in us-central1 billed 12% under list (0.88);
- e2 on demand in us-central1 drifted up 5% since the catalog was read (1.05);
- asia-east1 reclaims spot nodes 8 times as often as advertised.

Time is compressed: ``time_scale`` simulated seconds pass per real second (the local
cloud's :class:`~adapters.local.PreemptionPolicy` knob), so a 30-second job stands for
a 30-hour one and its hazard bites within a run of a few minutes. The offerings then
advertise ``hazard_per_hour x time_scale`` per wall-clock hour. The refit's prior
strengths are node-hours of evidence (:class:`~scheduler.costs.RefitSettings`), and the
evidence here is measured in real hours too, so :meth:`Truth.refit_settings` divides
every hour-valued knob by the same ``time_scale``: a few real minutes of node time
then weigh what the same number of simulated hours would.

The workload (:data:`CLASSES`, :func:`make_jobs`) is a mix of job classes chosen so
that each hidden fact is both *observed* in the first period (some class is pinned
where it holds) and *decision-relevant* in the next (some class may move because of
it). Everything is drawn from ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal

from adapters.local import LocalBilling, PreemptionPolicy, PriceRule
from scheduler.costs import RefitSettings
from scheduler.domain import JobSpec, Resources

#: The hidden price rules (first match wins), as ``(rule, what it models)``.
PRICE_RULES: tuple[tuple[PriceRule, str], ...] = (
    (
        PriceRule("europe-west4", "n2-*", "on-demand", Decimal("0.70")),
        "negotiated 30% off n2 on demand in europe-west4",
    ),
    (PriceRule("us-central1", "*", "spot", Decimal("0.88")), "spot in us-central1 12% under list"),
    (
        PriceRule("us-central1", "e2-*", "on-demand", Decimal("1.05")),
        "e2 on demand in us-central1 drifted +5%",
    ),
)

#: The price ratio key (``cloud/region/family/market``) of the discounted family.
DISCOUNTED_FAMILY = "local/europe-west4/n2/on-demand"


@dataclass(frozen=True)
class Truth:
    """The hidden prices and spot hazards; hazards are per *simulated* hour."""

    time_scale: float = 3600.0
    #: What every spot offering advertises (the catalog prior), per simulated hour:
    #: 0.002/h, about 5% a day.
    hazard_per_hour: float = 0.002
    noisy_region: str = "asia-east1"
    #: The noisy region's true hazard per simulated hour (8x the advertised one).
    noisy_hazard_per_hour: float = 0.016
    #: Seconds between a preemption notice and the reclaim.
    grace_s: float = 3.0

    def billing(self) -> LocalBilling:
        return LocalBilling(price_rules=tuple(rule for rule, _ in PRICE_RULES))

    def preemption(self, seed: int) -> PreemptionPolicy:
        return PreemptionPolicy(
            grace_s=self.grace_s,
            hazard_per_hour=self.hazard_per_hour,
            time_scale=self.time_scale,
            seed=seed,
            hazard_by_region={self.noisy_region: self.noisy_hazard_per_hour},
        )

    def multiplier(self, region: str, instance_type: str, market: str) -> Decimal:
        """True / list price."""
        return self.billing().multiplier(region, instance_type, market)

    def hazard_per_real_hour(self, region: str) -> float:
        """True spot preemptions per node-hour of wall clock in ``region``."""
        return self.preemption(0).hazard_for(region) * self.time_scale

    def advertised_per_real_hour(self) -> float:
        return self.hazard_per_hour * self.time_scale

    def refit_settings(self, base: RefitSettings) -> RefitSettings:
        """``base`` with every knob measured in node-hours divided by ``time_scale``."""
        hour_knobs = {
            "price_prior_hours_offering",
            "price_prior_hours_family",
            "price_prior_hours_cloud",
            "hazard_prior_hours",
            "hazard_prior_hours_min",
            "hazard_prior_hours_max",
        }
        changes = {
            f.name: getattr(base, f.name) / self.time_scale
            for f in fields(base)
            if f.name in hour_knobs and getattr(base, f.name) is not None
        }
        return replace(base, **changes)


@dataclass(frozen=True)
class JobClass:
    """A kind of job in the workload; ``regions`` empty means anywhere."""

    name: str
    weight: float
    vcpus: float
    memory_gib: float
    spot: bool
    regions: tuple[str, ...]
    #: At least this many jobs of the class in every period.
    minimum: int
    #: Estimated / actual runtime: below 1, the users underestimate it.
    estimate_ratio: float
    #: What the class probes, for the tables.
    probes: str


CLASSES: tuple[JobClass, ...] = (
    JobClass(
        "mem-eu", 4, 2, 12, False, ("europe-west4",), 3, 1.0,
        "n2-highmem-2 on demand pinned to europe-west4 (its data lives there): "
        "the discounted family",
    ),
    JobClass(
        "mem", 4, 2, 12, False, (), 1, 1.0,
        "n2-highmem-2 on demand anywhere: us-central1 by list price",
    ),
    JobClass(
        "big", 3, 8, 32, False, (), 1, 0.8,
        "n2-standard-8 on demand anywhere: a shape never billed in europe-west4",
    ),
    JobClass(
        "etl-eu", 3, 2, 8, False, ("europe-west4",), 1, 1.0,
        "e2 on demand pinned to europe-west4 (billed at list)",
    ),
    JobClass(
        "web", 4, 1, 4, False, (), 1, 1.0,
        "e2 on demand anywhere: us-central1, which drifted +5%",
    ),
    JobClass(
        "batch", 4, 1, 2, True, (), 1, 1.0,
        "spot anywhere: us-central1 spot, billed 12% under list",
    ),
    JobClass(
        "sweep", 4, 2, 8, True, ("asia-east1", "europe-west4"), 1, 1.0,
        "spot in asia-east1 or europe-west4, listed within 0.3% of each other",
    ),
    JobClass(
        "asia", 5, 2, 8, True, ("asia-east1",), 1, 1.0,
        "spot pinned to asia-east1, the noisy region",
    ),
)  # fmt: skip

#: Seconds between the agent's checkpoint uploads.
CHECKPOINT_INTERVAL_S = 10
STEP_S = 1.0


def class_counts(n: int) -> dict[str, int]:
    """Jobs per class for ``n`` jobs: each class's share of the weight (largest
    remainders), at least its minimum; more than ``n`` when the minimums need it."""
    total = sum(c.weight for c in CLASSES)
    exact = {c.name: n * c.weight / total for c in CLASSES}
    counts = {c.name: max(c.minimum, int(exact[c.name])) for c in CLASSES}
    by_remainder = sorted(CLASSES, key=lambda c: (int(exact[c.name]) - exact[c.name], c.name))
    for c in by_remainder:
        if sum(counts.values()) >= n:
            break
        counts[c.name] += 1
    return counts


def make_jobs(
    n: int,
    *,
    seed: int,
    period: int,
    steps: tuple[int, int],
    now: datetime,
    deadline: timedelta,
) -> list[JobSpec]:
    """``n`` counter jobs (see :func:`class_counts`) with ``steps`` (inclusive range)
    steps of :data:`STEP_S` seconds, shuffled; labels ``class`` and ``period``."""
    rng = random.Random(f"costmodel:{seed}:{period}")
    specs: list[JobSpec] = []
    counts = class_counts(n)
    for cls in CLASSES:
        for i in range(counts[cls.name]):
            k = rng.randint(*steps)
            actual_s = k * STEP_S
            specs.append(
                JobSpec(
                    name=f"p{period}-{cls.name}-{i}",
                    command=(
                        "python",
                        "-m",
                        "scheduler.workloads.counter",
                        "--steps",
                        str(k),
                        "--step-seconds",
                        str(STEP_S),
                    ),
                    estimated_runtime=timedelta(seconds=round(actual_s * cls.estimate_ratio) + 1),
                    deadline=now + deadline,
                    resources=Resources(vcpus=cls.vcpus, memory_gib=cls.memory_gib),
                    labels={"class": cls.name, "period": str(period)},
                    spot_allowed=cls.spot,
                    allowed_regions=cls.regions,
                    checkpoint_interval=timedelta(seconds=CHECKPOINT_INTERVAL_S),
                )
            )
    rng.shuffle(specs)
    return specs
