"""How well a model predicts data it was not fitted on: cost, preemptions, runtimes.

Every function compares a fitted model with the catalog ("before") on held-back
rows and returns a JSON-able dict. Relative errors are fractions (0.05 is 5%), and
None stands for "undefined" (nothing to compare, or a division by zero).

- cost: each held-back attempt's predicted cost, ``ratio x list price x billed hours``
  (ratio 1 for the catalog), against its billed ``EffectiveCost``: ``mape`` (mean of
  ``|pred - billed| / billed``), ``bias`` (mean of ``(pred - billed) / billed``) and
  ``total_error`` (``sum(pred) / sum(billed) - 1``), over attempts billed more than 0.
- preemption: expected preemptions ``sum(hazard x exposure_hours)`` against the
  observed count, overall and per ``cloud/region``; ``ratio`` is expected / observed.
- runtime: share of held-back jobs with ``actual <= factor x estimate``, the factor
  being the class's fitted one (the prior for an unseen class) or the prior for all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from scheduler.costs.frames import rows as records
from scheduler.costs.model import CostModel
from scheduler.costs.priors import CatalogPriors
from scheduler.costs.settings import RefitSettings


def _errors(predicted: Sequence[int], actual: Sequence[int]) -> dict[str, Any]:
    total_actual = sum(actual)
    total_pred = sum(predicted)
    if not actual:
        return {"predicted_micros": total_pred, "mape": None, "bias": None, "total_error": None}
    rel = [(p - a) / a for p, a in zip(predicted, actual, strict=True)]
    return {
        "predicted_micros": total_pred,
        "mape": sum(abs(r) for r in rel) / len(rel),
        "bias": sum(rel) / len(rel),
        "total_error": total_pred / total_actual - 1.0,
    }


def cost_accuracy(usage: pd.DataFrame, model: CostModel) -> dict[str, Any]:
    """Predicted vs billed cost of held-back attempts (rows of ``attempt_usage``)."""
    billed = usage[(usage["list_micros"] > 0) & (usage["effective_micros"] > 0)]
    actual: list[int] = []
    fitted: list[int] = []
    catalog: list[int] = []
    for u in records(billed.sort_values("attempt_id", kind="stable")):
        at_list = int(u["list_micros"])
        ratio = model.price_ratio(u["cloud"], u["region"], u["instance_type"], u["market"])
        actual.append(int(u["effective_micros"]))
        fitted.append(round(ratio * at_list))
        catalog.append(at_list)
    return {
        "attempts": len(actual),
        "billed_micros": sum(actual),
        "fitted": _errors(fitted, actual),
        "catalog": _errors(catalog, actual),
    }


def _calibration(
    hours: list[float], events: int, fitted: list[float], prior: list[float]
) -> dict[str, Any]:
    def side(hazards: list[float]) -> dict[str, Any]:
        expected = sum(h * x for h, x in zip(hazards, hours, strict=True))
        return {"expected": expected, "ratio": expected / events if events else None}

    return {
        "attempts": len(hours),
        "exposure_hours": sum(hours),
        "observed": events,
        "fitted": side(fitted),
        "prior": side(prior),
    }


def preemption_calibration(
    exposure: pd.DataFrame, model: CostModel, priors: CatalogPriors
) -> dict[str, Any]:
    """Expected vs observed preemptions of held-back spot attempts (rows of
    ``spot_exposure``). The prior hazard of an attempt is its instance type's catalog
    hazard; the fitted one its family's posterior (the prior where there is none)."""
    groups: dict[str, tuple[list[float], list[int], list[float], list[float]]] = {}
    for e in records(exposure.sort_values("attempt_id", kind="stable")):
        cloud, region, itype = str(e["cloud"]), str(e["region"]), str(e["instance_type"])
        prior = priors.offering_hazard(cloud, region, itype)
        fitted = model.hazard(cloud, region, itype)
        for key in ("", f"{cloud}/{region}"):
            hours, events, fit, pri = groups.setdefault(key, ([], [], [], []))
            hours.append(float(e["hours"]))
            events.append(int(bool(e["preempted"])))
            fit.append(prior if fitted is None else fitted)
            pri.append(prior)
    overall = groups.pop("", ([], [], [], []))
    return {
        "overall": _calibration(overall[0], sum(overall[1]), overall[2], overall[3]),
        "by_region": {
            key: _calibration(g[0], sum(g[1]), g[2], g[3]) for key, g in sorted(groups.items())
        },
    }


def runtime_coverage(
    samples: pd.DataFrame, model: CostModel, knobs: RefitSettings
) -> dict[str, Any]:
    """Share of held-back jobs (rows of ``runtime_samples``) that finished within their
    pessimistic runtime, with fitted factors and with the prior factor."""
    n = len(samples)
    fitted = prior = 0
    for s in records(samples.sort_values("job_id", kind="stable")):
        actual, estimate = float(s["actual_s"]), float(s["estimated_runtime_s"])
        factor = model.runtime_factor(str(s["class_key"]), knobs.runtime_prior_factor)
        fitted += actual <= factor * estimate
        prior += actual <= knobs.runtime_prior_factor * estimate
    return {
        "jobs": n,
        "quantile": knobs.runtime_quantile,
        "fitted_coverage": fitted / n if n else None,
        "prior_coverage": prior / n if n else None,
    }
