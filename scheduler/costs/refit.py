"""Refit the cost model from history: check the frames, measure accuracy, fit on all data.

``refit`` first holds back the newest attempts (by ``ended_at``: the newest
``holdout_fraction`` of those that ended, at least ``min_holdout_attempts``, every
attempt that ended at or after the cutoff time), fits on the rest and measures how
well that fit predicts the held-back cost, preemptions and runtimes, next to the
catalog's predictions (:mod:`scheduler.costs.accuracy`). A succeeded job is held back
when its final attempt is. With fewer than ``min_fit_attempts`` ended attempts left
to fit on, accuracy is skipped (and says why). The parameters it returns are then
fitted on all the data.

Pure: no I/O, no clock; the same frames (in any row order) give the same result.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from adapters.base import Offering
from scheduler.costs.accuracy import cost_accuracy, preemption_calibration, runtime_coverage
from scheduler.costs.delays import fit_delays
from scheduler.costs.frames import SUCCEEDED, attempts_frame, billing_frame, jobs_frame
from scheduler.costs.hazards import fit_hazards, spot_exposure
from scheduler.costs.model import CostModel
from scheduler.costs.params import CostModelParams
from scheduler.costs.prices import attempt_usage, fit_prices, unmatched_billing_rows
from scheduler.costs.priors import CatalogPriors
from scheduler.costs.runtimes import fit_runtimes, runtime_samples
from scheduler.costs.settings import RefitSettings
from solver.money import from_micros

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FitResult:
    """Parameters fitted on all data; ``accuracy`` of a fit on all but the newest data
    and ``inputs`` (counts, time range, totals) as JSON-able dicts."""

    params: CostModelParams
    accuracy: dict[str, Any]
    inputs: dict[str, Any]

    @property
    def model(self) -> CostModel:
        return CostModel(self.params)


@dataclass(frozen=True)
class _Data:
    attempts: pd.DataFrame
    usage: pd.DataFrame
    exposure: pd.DataFrame
    samples: pd.DataFrame


def refit(
    attempts: pd.DataFrame,
    jobs: pd.DataFrame,
    billing: pd.DataFrame,
    catalog: Sequence[Offering],
    *,
    settings: RefitSettings | None = None,
) -> FitResult:
    """Fit prices, spot hazards, runtime factors and launch delays (see the modules
    :mod:`~scheduler.costs.prices`, :mod:`~scheduler.costs.hazards`,
    :mod:`~scheduler.costs.runtimes`, :mod:`~scheduler.costs.delays`). Raises
    :class:`~scheduler.costs.errors.FrameSchemaError` when a frame lacks a column."""
    knobs = settings or RefitSettings()
    a = attempts_frame(attempts)
    j = jobs_frame(jobs)
    b = billing_frame(billing)
    priors = CatalogPriors.from_catalog(
        catalog, hazard_default=knobs.hazard_default_per_hour, delay_default=knobs.delay_default_s
    )
    samples, skipped = runtime_samples(a, j, knobs)
    data = _Data(a, attempt_usage(a, b), spot_exposure(a), samples)
    accuracy = _accuracy(data, priors, knobs)
    params = _fit(data, priors, knobs)
    inputs = _inputs(data, j, b, catalog, skipped)
    log.debug(
        "cost model refit: %d attempts, %d billed, %d prices, %d hazards, %d classes",
        len(a),
        len(data.usage),
        len(params.prices),
        len(params.hazards),
        len(params.runtimes),
    )
    return FitResult(params=params, accuracy=accuracy, inputs=inputs)


def _fit(data: _Data, priors: CatalogPriors, knobs: RefitSettings) -> CostModelParams:
    return CostModelParams(
        knobs=knobs,
        prices=fit_prices(data.usage, knobs),
        hazards=fit_hazards(data.exposure, priors, knobs),
        runtimes=fit_runtimes(data.samples, knobs),
        launch_delays=fit_delays(data.attempts, priors, knobs),
    )


def _before(frame: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Rows that ended before ``cutoff`` or have not ended."""
    return frame[~(frame["ended_at"] >= cutoff)]


def _from(frame: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    return frame[frame["ended_at"] >= cutoff]


def _accuracy(data: _Data, priors: CatalogPriors, knobs: RefitSettings) -> dict[str, Any]:
    ended = data.attempts["ended_at"].dropna().sort_values(kind="stable")
    n = len(ended)
    n_hold = max(knobs.min_holdout_attempts, math.ceil(knobs.holdout_fraction * n))
    if n - n_hold < knobs.min_fit_attempts:
        need = knobs.min_holdout_attempts + knobs.min_fit_attempts
        return {"holdout": {"skipped": f"{n} ended attempts, need {need} or more"}}
    cutoff = ended.iloc[n - n_hold]
    n_fit = int((ended < cutoff).sum())
    if n_fit < knobs.min_fit_attempts:
        return {
            "holdout": {
                "skipped": f"{n_fit} attempts ended before the cutoff {cutoff.isoformat()}, "
                f"need {knobs.min_fit_attempts}"
            }
        }
    fit = _Data(
        _before(data.attempts, cutoff),
        _before(data.usage, cutoff),
        _before(data.exposure, cutoff),
        _before(data.samples, cutoff),
    )
    model = CostModel(_fit(fit, priors, knobs))
    return {
        "holdout": {
            "cutoff": cutoff.isoformat(),
            "fraction": knobs.holdout_fraction,
            "fit_attempts": n_fit,
            "holdout_attempts": n - n_fit,
        },
        "cost": cost_accuracy(_from(data.usage, cutoff), model),
        "preemption": preemption_calibration(_from(data.exposure, cutoff), model, priors),
        "runtime": runtime_coverage(_from(data.samples, cutoff), model, knobs),
    }


def _iso(t: Any) -> str | None:
    return None if pd.isna(t) else str(t.isoformat())


def _inputs(
    data: _Data,
    jobs: pd.DataFrame,
    billing: pd.DataFrame,
    catalog: Sequence[Offering],
    skipped: dict[str, int],
) -> dict[str, Any]:
    a, usage = data.attempts, data.usage
    both = usage[usage["catalog_priced"] & (usage["billed_list_micros"] > 0)]
    drift = (
        int(both["billed_list_micros"].sum()) / int(both["list_micros"].sum())
        if len(both)
        else None
    )
    return {
        "attempts": len(a),
        "attempts_started": int(a["started_at"].notna().sum()),
        "attempts_ended": int(a["ended_at"].notna().sum()),
        "spot_attempts_ran": len(data.exposure),
        "spot_exposure_hours": float(data.exposure["hours"].sum()),
        "preemptions": int(data.exposure["preempted"].sum()),
        "jobs": len(jobs),
        "jobs_succeeded": int((jobs["state"].str.upper() == SUCCEEDED).sum()),
        "runtime_samples": len(data.samples),
        "runtime_skipped": skipped,
        "billing_rows": len(billing),
        "billing_rows_unmatched": unmatched_billing_rows(a, billing),
        "billed_attempts": len(usage),
        "billed_hours": float(usage["hours"].sum()),
        "effective_cost": str(from_micros(int(usage["effective_micros"].sum()))),
        "billed_cost": str(from_micros(int(usage["billed_micros"].sum()))),
        "cost_at_catalog_list": str(from_micros(int(usage["list_micros"].sum()))),
        # Billed ListCost over the catalog list price for the same usage: 1 when the
        # catalog is current, above 1 when list prices rose since it was read.
        "billed_list_over_catalog_list": drift,
        "catalog_offerings": len(catalog),
        "first_created_at": _iso(a["created_at"].min()),
        "last_ended_at": _iso(a["ended_at"].max()),
        "first_charge_at": _iso(billing["ChargePeriodStart"].min()),
        "last_charge_at": _iso(billing["ChargePeriodEnd"].max()),
    }
