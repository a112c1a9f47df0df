"""Knobs of a refit: prior strengths, the runtime quantile, clamps and the hold-out split.

The defaults are documented where they are declared. They are stored with every fit
(``CostModelParams.knobs``) so that a fitted model says how it was made.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

#: The catalog's assumption for spot offerings without a published interruption band
#: (5% a month over 730 hours; see ``adapters.catalog.defaults``), used as the hazard
#: prior of a region and family the catalog has no spot offering for.
DEFAULT_SPOT_HAZARD_PER_HOUR = 0.05 / 730

#: ``adapters.base.Offering.launch_delay_s``'s default, for a region the catalog lacks.
DEFAULT_LAUNCH_DELAY_S = 60.0


@dataclass(frozen=True)
class RefitSettings:
    # -- prices: credibility with pseudo-hours, offering <- family <- cloud <- list -------
    #: Billed hours at which an offering's own ratio counts as much as its family's.
    price_prior_hours_offering: float = 4.0
    #: Billed hours at which a family's ratio (in one region and market) counts as much
    #: as its cloud's.
    price_prior_hours_family: float = 8.0
    #: Billed hours at which a cloud's ratio (per market) counts as much as the list
    #: price (ratio 1).
    price_prior_hours_cloud: float = 24.0
    #: Fitted effective/list ratios are clamped to this range: a ratio of 0 (usage
    #: covered by a commitment or credits) would make an offering look free.
    price_ratio_min: float = 0.01
    price_ratio_max: float = 10.0

    # -- spot hazard: Gamma-Poisson per cloud/region/family ---------------------------------
    #: Prior strength as preemptions' worth of evidence: the pseudo-exposure is
    #: ``hazard_prior_events / prior_hazard`` node-hours (clamped to the range below), so
    #: that a rare-event prior (1e-4/h) is not overturned by one early preemption and a
    #: frequent one is not held for thousands of hours.
    hazard_prior_events: float = 1.0
    #: A fixed pseudo-exposure in node-hours instead (overrides ``hazard_prior_events``).
    hazard_prior_hours: float | None = None
    hazard_prior_hours_min: float = 24.0
    hazard_prior_hours_max: float = 100_000.0
    #: Prior for a region and family the catalog has no spot offering in (nor its region
    #: or cloud).
    hazard_default_per_hour: float = DEFAULT_SPOT_HAZARD_PER_HOUR

    # -- runtime error per job class ---------------------------------------------------------
    #: The quantile of actual/estimate the planner's factor is built from.
    runtime_quantile: float = 0.9
    #: The factor with no evidence: ``ControlSettings.runtime_pessimism``.
    runtime_prior_factor: float = 1.2
    #: Samples at which a class's own quantile counts as much as the prior factor.
    runtime_prior_samples: float = 5.0
    runtime_factor_min: float = 0.5
    runtime_factor_max: float = 10.0
    #: A succeeded job's final attempt must have done at least this share of the work
    #: (``1 - start_progress``) for its runtime to be extrapolated from it.
    runtime_min_final_fraction: float = 0.25

    # -- launch delay per cloud/region -------------------------------------------------------
    #: Samples at which a region's median delay counts as much as the catalog's.
    delay_prior_samples: float = 5.0
    delay_default_s: float = DEFAULT_LAUNCH_DELAY_S

    # -- accuracy: hold back the newest attempts -------------------------------------------
    holdout_fraction: float = 0.2
    min_holdout_attempts: int = 5
    min_fit_attempts: int = 5

    def __post_init__(self) -> None:
        for name in (
            "price_prior_hours_offering",
            "price_prior_hours_family",
            "price_prior_hours_cloud",
            "hazard_prior_events",
            "runtime_prior_samples",
            "delay_prior_samples",
            "hazard_default_per_hour",
            "delay_default_s",
        ):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")
        if self.hazard_prior_hours is not None and not self.hazard_prior_hours >= 0:
            raise ValueError(f"hazard_prior_hours must be >= 0, got {self.hazard_prior_hours}")
        _check_range("price_ratio", self.price_ratio_min, self.price_ratio_max, positive=True)
        _check_range("hazard_prior_hours", self.hazard_prior_hours_min, self.hazard_prior_hours_max)
        _check_range(
            "runtime_factor", self.runtime_factor_min, self.runtime_factor_max, positive=True
        )
        if not 0 < self.runtime_quantile < 1:
            raise ValueError(f"runtime_quantile must be in (0, 1), got {self.runtime_quantile}")
        if not self.runtime_prior_factor > 0:
            raise ValueError(f"runtime_prior_factor must be > 0, got {self.runtime_prior_factor}")
        if not 0 < self.runtime_min_final_fraction <= 1:
            raise ValueError(
                f"runtime_min_final_fraction must be in (0, 1], got "
                f"{self.runtime_min_final_fraction}"
            )
        if not 0 < self.holdout_fraction < 1:
            raise ValueError(f"holdout_fraction must be in (0, 1), got {self.holdout_fraction}")
        if self.min_holdout_attempts < 1 or self.min_fit_attempts < 1:
            raise ValueError("min_holdout_attempts and min_fit_attempts must be >= 1")

    def to_json(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RefitSettings:
        """Knobs from :meth:`to_json`; a knob this version does not know is ignored and a
        missing one takes its default, so that old fits stay readable."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


def _check_range(name: str, low: float, high: float, *, positive: bool = False) -> None:
    if not (low > 0 if positive else low >= 0):
        raise ValueError(f"{name}_min must be {'>' if positive else '>='} 0, got {low}")
    if not high >= low:
        raise ValueError(f"{name}_max must be >= {name}_min, got {high} < {low}")
