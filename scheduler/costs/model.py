"""The cost model the planner applies: fitted parameters turned into adjusted offerings.

``CostModel.catalog()`` has no parameters and changes nothing, so the planner can
always go through a model. A fitted model adjusts an offering's price (list price x
the finest fitted price ratio: offering, else family, else cloud), its spot hazard
(the ``cloud/region/family`` posterior) and its launch delay (the ``cloud/region``
posterior); whatever the fit has no estimate for stays as the catalog says.
"""

from __future__ import annotations

from dataclasses import replace
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from adapters.base import Market, Offering
from scheduler.costs.keys import hazard_key, region_key
from scheduler.costs.params import CostModelParams
from scheduler.costs.prices import ratio_lookup

_MICRO = Decimal("0.000001")


class CostModel:
    """Lookups over one :class:`CostModelParams`; immutable."""

    def __init__(self, params: CostModelParams) -> None:
        self._params = params
        self._ratio = ratio_lookup(params.prices)
        self._hazard = {h.key: h.posterior for h in params.hazards}
        self._delay = {d.key: d.posterior_s for d in params.launch_delays}
        self._runtime = {r.class_key: r.factor for r in params.runtimes}

    @classmethod
    def catalog(cls) -> CostModel:
        """The model before any refit: every offering as the catalog lists it."""
        return cls(CostModelParams())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> CostModel:
        return cls(CostModelParams.from_json(data))

    @property
    def params(self) -> CostModelParams:
        return self._params

    def price_ratio(self, cloud: str, region: str, instance_type: str, market: str) -> float:
        """Effective / list price; 1.0 where nothing was fitted."""
        r = self._ratio(cloud, region, instance_type, market)
        return 1.0 if r is None else r

    def hazard(self, cloud: str, region: str, instance_type: str) -> float | None:
        """Fitted spot preemptions per node-hour, or None (keep the catalog's)."""
        return self._hazard.get(hazard_key(cloud, region, instance_type))

    def launch_delay_s(self, cloud: str, region: str) -> float | None:
        """Fitted launch delay, or None (keep the catalog's)."""
        return self._delay.get(region_key(cloud, region))

    def runtime_factor(self, class_key: str, default: float) -> float:
        """The pessimistic runtime factor for a job class, ``default`` for an unseen one."""
        return self._runtime.get(class_key, default)

    def offering(self, o: Offering) -> Offering:
        """A copy of ``o`` with the effective price (quantized to 1e-6 dollars), the fitted
        hazard (spot only) and the fitted launch delay."""
        changes: dict[str, Any] = {}
        r = self._ratio(o.cloud, o.region, o.instance_type, o.market.value)
        if r is not None:
            price = (o.price_per_hour * Decimal(r)).quantize(_MICRO, rounding=ROUND_HALF_EVEN)
            changes["price_per_hour"] = price
        if o.market is Market.SPOT:
            h = self.hazard(o.cloud, o.region, o.instance_type)
            if h is not None:
                changes["preemption_hazard_per_hour"] = h
        d = self.launch_delay_s(o.cloud, o.region)
        if d is not None:
            changes["launch_delay_s"] = d
        return replace(o, **changes)
