"""Shrinkage: pull an estimate from thin evidence toward a prior.

Both formulas are weighted means of the observed value and the prior, so the result
always lies between the two; evidence and prior strength are in the same unit
(hours, node-hours or samples).
"""

from __future__ import annotations


def credibility(observed: float, evidence: float, prior: float, strength: float) -> float:
    """``(evidence * observed + strength * prior) / (evidence + strength)``.

    Bühlmann credibility with ``strength`` pseudo-units of the prior: with as much
    evidence as ``strength`` the result is halfway between prior and observed. With no
    evidence (or no weight at all) it is the prior.
    """
    if evidence < 0 or strength < 0:
        raise ValueError(f"evidence and strength must be >= 0, got {evidence}, {strength}")
    if evidence == 0:
        return prior
    # prior + w * (observed - prior) rather than the quotient: it stays between the two
    # even when the weights underflow.
    weight = evidence / (evidence + strength)
    return prior + weight * (observed - prior)


def gamma_poisson(
    events: float, exposure: float, prior_rate: float, prior_exposure: float
) -> float:
    """Posterior mean of a Poisson rate under a Gamma prior.

    The prior is a Gamma with mean ``prior_rate`` worth ``prior_exposure`` units of
    exposure (shape ``prior_rate * prior_exposure``, rate ``prior_exposure``); after
    ``events`` in ``exposure`` the posterior mean is
    ``(prior_exposure * prior_rate + events) / (prior_exposure + exposure)``.
    """
    if events < 0 or exposure < 0 or prior_rate < 0 or prior_exposure < 0:
        raise ValueError("events, exposure, prior_rate and prior_exposure must be >= 0")
    if exposure > 0:
        return credibility(events / exposure, exposure, prior_rate, prior_exposure)
    if prior_exposure > 0:
        return (prior_exposure * prior_rate + events) / prior_exposure
    return prior_rate


def clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))
