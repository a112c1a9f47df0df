"""Instance families, and the shrinkage formulas (with hypothesis properties)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.costs.keys import family
from scheduler.costs.shrinkage import credibility, gamma_poisson

PROPERTY = settings(max_examples=300, deadline=None, derandomize=True)


@pytest.mark.parametrize(
    ("instance_type", "expected"),
    [
        ("n2-standard-4", "n2"),
        ("a2-highgpu-1g", "a2"),
        ("m5.large", "m5"),
        ("p4d.24xlarge", "p4d"),
        ("Standard_D4s_v5", "Standard_D"),
        ("Standard_NC24ads_A100_v4", "Standard_NC"),
        ("Standard_E64-16ds_v4", "Standard_E"),
        ("Basic_A1", "Basic_A"),
        ("gpu_1x_a100", "gpu_1x_a100"),
        ("local-small", "local"),
    ],
)
def test_family_is_the_prefix_shapes_of_one_generation_share(
    instance_type: str, expected: str
) -> None:
    assert family(instance_type) == expected


def test_credibility_is_the_prior_without_evidence_and_halfway_at_equal_weight() -> None:
    assert credibility(0.5, 0.0, 1.0, 10.0) == 1.0
    assert credibility(0.5, 10.0, 1.0, 10.0) == pytest.approx(0.75)
    assert credibility(0.5, 10.0, 1.0, 0.0) == 0.5
    with pytest.raises(ValueError):
        credibility(0.5, -1.0, 1.0, 1.0)


_pos = st.floats(min_value=0.0, max_value=1e6, allow_nan=False)
_val = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@PROPERTY
@given(observed=_val, evidence=_pos, prior=_val, strength=_pos)
def test_credibility_lies_between_prior_and_observed(
    observed: float, evidence: float, prior: float, strength: float
) -> None:
    got = credibility(observed, evidence, prior, strength)
    lo, hi = min(observed, prior), max(observed, prior)
    tol = 1e-9 * max(1.0, abs(lo), abs(hi))
    assert lo - tol <= got <= hi + tol


@PROPERTY
@given(
    events=st.integers(min_value=0, max_value=10_000),
    exposure=st.floats(min_value=1e-3, max_value=1e6),
    prior=st.floats(min_value=0.0, max_value=10.0),
    k=st.floats(min_value=0.0, max_value=1e6),
)
def test_gamma_poisson_lies_between_prior_and_observed_rate(
    events: int, exposure: float, prior: float, k: float
) -> None:
    got = gamma_poisson(events, exposure, prior, k)
    observed = events / exposure
    lo, hi = min(observed, prior), max(observed, prior)
    tol = 1e-9 * max(1.0, hi)
    assert lo - tol <= got <= hi + tol
    more = gamma_poisson(events * 2, exposure * 2, prior, k)
    # More of the same evidence moves the estimate further toward the observed rate.
    assert abs(more - observed) <= abs(got - observed) + tol
