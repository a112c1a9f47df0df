"""What the catalog believes before any history: spot hazards and launch delays.

Priors are means over the catalog's offerings at the level an estimate is fitted at,
falling back to coarser levels (region, then cloud, then a default from
:class:`~scheduler.costs.settings.RefitSettings`) when the catalog has nothing there.
Prices need no table: their prior is the list price itself (ratio 1).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from adapters.base import Market, Offering
from scheduler.costs.keys import family


def _means(pairs: Iterable[tuple[tuple[str, ...], float]]) -> dict[tuple[str, ...], float]:
    acc: dict[tuple[str, ...], list[float]] = defaultdict(list)
    for key, value in pairs:
        acc[key].append(value)
    return {k: sum(v) / len(v) for k, v in acc.items()}


@dataclass(frozen=True)
class CatalogPriors:
    """Mean catalog hazard of spot offerings and mean launch delay, by level."""

    hazard_by_type: dict[tuple[str, ...], float]
    hazard_by_family: dict[tuple[str, ...], float]
    hazard_by_region: dict[tuple[str, ...], float]
    hazard_by_cloud: dict[tuple[str, ...], float]
    hazard_default: float
    delay_by_region: dict[tuple[str, ...], float]
    delay_by_cloud: dict[tuple[str, ...], float]
    delay_default: float

    @classmethod
    def from_catalog(
        cls, catalog: Iterable[Offering], *, hazard_default: float, delay_default: float
    ) -> CatalogPriors:
        # Sorted so that float means do not depend on the catalog's order.
        offerings = sorted(catalog, key=lambda o: o.id)
        spot = [o for o in offerings if o.market is Market.SPOT]

        def hazard(o: Offering) -> float:
            return float(o.preemption_hazard_per_hour)

        return cls(
            hazard_by_type=_means(((o.cloud, o.region, o.instance_type), hazard(o)) for o in spot),
            hazard_by_family=_means(
                ((o.cloud, o.region, family(o.instance_type)), hazard(o)) for o in spot
            ),
            hazard_by_region=_means(((o.cloud, o.region), hazard(o)) for o in spot),
            hazard_by_cloud=_means(((o.cloud,), hazard(o)) for o in spot),
            hazard_default=hazard_default,
            delay_by_region=_means(
                ((o.cloud, o.region), float(o.launch_delay_s)) for o in offerings
            ),
            delay_by_cloud=_means(((o.cloud,), float(o.launch_delay_s)) for o in offerings),
            delay_default=delay_default,
        )

    def family_hazard(self, cloud: str, region: str, fam: str) -> float:
        """The prior of a ``cloud/region/family`` hazard."""
        for table, key in (
            (self.hazard_by_family, (cloud, region, fam)),
            (self.hazard_by_region, (cloud, region)),
            (self.hazard_by_cloud, (cloud,)),
        ):
            if key in table:
                return table[key]
        return self.hazard_default

    def offering_hazard(self, cloud: str, region: str, instance_type: str) -> float:
        """What the catalog says of one spot instance type (mean over its zones), else its
        family's prior: the "before" of preemption calibration."""
        own = self.hazard_by_type.get((cloud, region, instance_type))
        if own is not None:
            return own
        return self.family_hazard(cloud, region, family(instance_type))

    def launch_delay(self, cloud: str, region: str) -> float:
        if (cloud, region) in self.delay_by_region:
            return self.delay_by_region[(cloud, region)]
        return self.delay_by_cloud.get((cloud,), self.delay_default)
