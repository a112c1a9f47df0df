"""Spot preemption hazard per cloud, region and instance family, from attempt history.

Only spot attempts that started and ended count. Each one's exposure is its running
time ``ended_at - started_at`` in node-hours; it is an event when it was preempted.
Attempts still running (no ``ended_at``) are left out: a pure function has no "now"
to measure them to.

Per ``cloud/region/family`` the hazard is the mean of a Gamma-Poisson posterior::

    posterior = (k * h0 + events) / (k + exposure_hours)

with ``h0`` the catalog's mean hazard over that family's spot offerings in the
region (see :class:`~scheduler.costs.priors.CatalogPriors` for the fallbacks) and ``k``
a pseudo-exposure in node-hours: ``hazard_prior_hours`` when set, else
``hazard_prior_events / h0`` clamped to ``[hazard_prior_hours_min,
hazard_prior_hours_max]``, i.e. the prior weighs as much as that many observed
preemptions would.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd

from scheduler.costs.frames import rows
from scheduler.costs.keys import family
from scheduler.costs.params import HazardEstimate
from scheduler.costs.priors import CatalogPriors
from scheduler.costs.settings import RefitSettings
from scheduler.costs.shrinkage import clamp, gamma_poisson

#: Columns of :func:`spot_exposure`'s frame.
EXPOSURE_COLUMNS: tuple[str, ...] = (
    "attempt_id",
    "cloud",
    "region",
    "instance_type",
    "family",
    "ended_at",
    "hours",
    "preempted",
)


def spot_exposure(attempts: pd.DataFrame) -> pd.DataFrame:
    """Spot attempts that ran, with their exposure ``hours`` (:data:`EXPOSURE_COLUMNS`)."""
    ran = attempts[
        (attempts["market"] == "spot")
        & attempts["started_at"].notna()
        & attempts["ended_at"].notna()
    ]
    seconds = (ran["ended_at"] - ran["started_at"]).dt.total_seconds().clip(lower=0.0)
    out = pd.DataFrame(
        {
            "attempt_id": ran["attempt_id"],
            "cloud": ran["cloud"],
            "region": ran["region"],
            "instance_type": ran["instance_type"],
            "family": [family(t) for t in ran["instance_type"]],
            "ended_at": ran["ended_at"],
            "hours": (seconds / 3600.0).astype("float64"),
            "preempted": ran["preempted"].astype(bool),
        },
        columns=list(EXPOSURE_COLUMNS),
    )
    return out.sort_values("attempt_id", kind="stable").reset_index(drop=True)


def prior_hours(prior: float, knobs: RefitSettings) -> float:
    """The prior's pseudo-exposure ``k`` in node-hours."""
    if knobs.hazard_prior_hours is not None:
        return knobs.hazard_prior_hours
    if prior <= 0:
        return knobs.hazard_prior_hours_max
    return clamp(
        knobs.hazard_prior_events / prior,
        knobs.hazard_prior_hours_min,
        knobs.hazard_prior_hours_max,
    )


def fit_hazards(
    exposure: pd.DataFrame, priors: CatalogPriors, knobs: RefitSettings
) -> tuple[HazardEstimate, ...]:
    """One estimate per ``cloud/region/family`` with spot exposure."""
    hours: dict[tuple[str, str, str], float] = defaultdict(float)
    events: dict[tuple[str, str, str], int] = defaultdict(int)
    for e in rows(exposure.sort_values("attempt_id", kind="stable")):
        g = (str(e["cloud"]), str(e["region"]), str(e["family"]))
        hours[g] += float(e["hours"])
        events[g] += int(bool(e["preempted"]))
    out = []
    for g in sorted(hours):
        cloud, region, fam = g
        h0 = priors.family_hazard(cloud, region, fam)
        k = prior_hours(h0, knobs)
        out.append(
            HazardEstimate(
                key=f"{cloud}/{region}/{fam}",
                events=events[g],
                exposure_hours=hours[g],
                prior=h0,
                prior_hours=k,
                posterior=gamma_poisson(events[g], hours[g], h0, k),
            )
        )
    return tuple(out)
