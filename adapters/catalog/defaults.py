"""Every assumed number of the catalog loaders, in one place, with where it comes from.

The price lists give prices. What they do not give (how often spot nodes are taken
back, how long a node takes to boot, what moving data between two places costs when
the egress table has no row for the pair) is assumed here and nowhere else.

Preemption hazard is expected preemptions per node-hour. A monthly interruption
frequency ``f`` (the share of spot nodes AWS reclaimed over the trailing month) is
turned into ``f / HOURS_PER_MONTH``. For ``f`` up to 0.225 this is at most 12% below the
exponential rate ``-ln(1 - f) / HOURS_PER_MONTH`` that would reproduce ``f`` exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from types import MappingProxyType

#: Hours in an average month (365 * 24 / 12), AWS's own figure for monthly pricing.
HOURS_PER_MONTH = 730

#: The AWS Spot Instance Advisor's interruption bands (its ``r`` index) -> the monthly
#: interruption frequency we assume for the band: the middle of ``<5%``, ``5-10%``,
#: ``10-15%``, ``15-20%``, and 22.5% for the open-ended ``>20%``.
AWS_BAND_MONTHLY_INTERRUPTION: tuple[float, ...] = (0.025, 0.075, 0.125, 0.175, 0.225)

#: Monthly interruption frequency assumed for spot offerings without a published band
#: (GCP, Azure). The advisor's fleet-wide ``global_rate`` is "<10%"; its midpoint is 5%.
DEFAULT_SPOT_MONTHLY_INTERRUPTION = 0.05

DEFAULT_SPOT_HAZARD_PER_HOUR = DEFAULT_SPOT_MONTHLY_INTERRUPTION / HOURS_PER_MONTH


def hazard_from_band(band: int) -> float:
    """Preemptions per node-hour for an AWS advisor band (0..4); ``ValueError`` otherwise."""
    if not 0 <= band < len(AWS_BAND_MONTHLY_INTERRUPTION):
        raise ValueError(f"interruption band must be 0..4, got {band}")
    return AWS_BAND_MONTHLY_INTERRUPTION[band] / HOURS_PER_MONTH


#: AWS spot savings (percent off on-demand) and interruption band assumed for an
#: instance type the spot advisor data has no entry for (or when none is loaded). Over
#: the advisor's Linux entries (snapshot 2025-06, all regions, 14,962 entries) savings
#: have quartiles 58 / 65 / 72 % and the median band is 2 (10-15% a month). The lower
#: quartile is taken so that an unknown spot price is not assumed cheaper than most.
AWS_SPOT_SAVINGS_PERCENT_WITHOUT_ADVISOR = 58
AWS_SPOT_BAND_WITHOUT_ADVISOR = 2


#: Seconds from a launch request to a running worker, per cloud. Rough priors, not
#: measurements: a Linux VM boots in about a minute on AWS and GCP, Azure is slower to
#: provision, Lambda's GPU VMs take minutes. Replace them with measured values per
#: offering when there are some.
LAUNCH_DELAY_S: Mapping[str, float] = MappingProxyType(
    {"aws": 90.0, "gcp": 90.0, "azure": 180.0, "lambda": 300.0}
)

#: For a cloud not in :data:`LAUNCH_DELAY_S` (the :class:`~adapters.base.Offering` default).
DEFAULT_LAUNCH_DELAY_S = 60.0


def launch_delay_s(cloud: str) -> float:
    return LAUNCH_DELAY_S.get(cloud, DEFAULT_LAUNCH_DELAY_S)


#: Clouds whose spot capacity has quotas of its own: AWS ("All Standard/G/P Spot
#: Instance Requests" vCPU quotas), GCP ("Preemptible CPUs", "Preemptible NVIDIA ...
#: GPUs"), Azure ("Total Regional Low-priority vCPUs"). Lambda sells no spot.
SEPARATE_SPOT_QUOTA: frozenset[str] = frozenset({"aws", "gcp", "azure"})


#: Egress $/GB for a pair the table lacks, by source cloud: (another region of the same
#: cloud, another cloud). Each is the most common value of that kind in Skyplane's
#: ``intercloud_egress_cost.csv`` (which is also its median): e.g. AWS inter-region 0.02
#: (310 of 600 pairs), GCP to another cloud 0.12 (810 of 1,128).
EGRESS_DEFAULT_PER_GB: Mapping[str, tuple[Decimal, Decimal]] = MappingProxyType(
    {
        "aws": (Decimal("0.02"), Decimal("0.09")),
        "azure": (Decimal("0.05"), Decimal("0.0875")),
        "gcp": (Decimal("0.08"), Decimal("0.12")),
    }
)

#: For a source cloud the table does not cover (e.g. Lambda): the highest of the values
#: above, so that an unknown price is never assumed cheaper than a known one.
EGRESS_UNKNOWN_CLOUD_PER_GB: tuple[Decimal, Decimal] = (Decimal("0.08"), Decimal("0.12"))
