"""Properties over random histories: estimates lie between prior and evidence, the
catalog model changes nothing, and knobs are validated."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduler.costs import CostModel, RefitSettings, refit
from tests.unit.scheduler.costs.synth import T0, History, offering

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True)

VM = offering("gcp", "us-central1", "n2-standard-4", price="0.194236")
SPOT = offering("gcp", "us-central1", "n2-standard-4", "spot", price="0.05", hazard=0.01)

_runs = st.lists(
    st.tuples(
        st.floats(min_value=0.01, max_value=50.0),  # hours
        st.floats(min_value=0.2, max_value=2.0),  # effective / list
        st.booleans(),  # preempted
    ),
    min_size=1,
    max_size=12,
)


@PROPERTY
@given(runs=_runs)
def test_fitted_price_and_hazard_lie_between_prior_and_observed(
    runs: list[tuple[float, float, bool]],
) -> None:
    h = History()
    for i, (hours, ratio, preempted) in enumerate(runs):
        h.run(VM, at=T0 + timedelta(hours=i), hours=hours, ratio=ratio)
        h.run(SPOT, at=T0 + timedelta(hours=i), hours=hours, preempted=preempted, bill=False)
    params = refit(*h.frames(), [VM, SPOT]).params
    for p in params.prices:
        lo, hi = min(p.observed, 1.0), max(p.observed, 1.0)
        assert lo - 1e-9 <= p.ratio <= hi + 1e-9
    (hz,) = params.hazards
    observed = hz.events / hz.exposure_hours
    assert min(observed, hz.prior) - 1e-12 <= hz.posterior <= max(observed, hz.prior) + 1e-12
    assert [p.level for p in params.prices] == ["offering", "family", "cloud"]


@PROPERTY
@given(
    price=st.decimals(min_value="0.000001", max_value="100", places=6),
    hazard=st.floats(min_value=0.0, max_value=1.0),
    delay=st.floats(min_value=0.0, max_value=1000.0),
    market=st.sampled_from(["on-demand", "spot"]),
)
def test_the_catalog_model_changes_nothing(
    price: Decimal, hazard: float, delay: float, market: str
) -> None:
    o = offering(
        "aws", "us-east-1", "m5.large", market, price=str(price), hazard=hazard, delay_s=delay
    )
    assert CostModel.catalog().offering(o) == o


@pytest.mark.parametrize(
    "bad",
    [
        {"runtime_quantile": 1.0},
        {"price_prior_hours_cloud": -1.0},
        {"price_ratio_min": 0.0},
        {"runtime_factor_min": 2.0, "runtime_factor_max": 1.0},
        {"holdout_fraction": 0.0},
        {"hazard_prior_hours": -5.0},
        {"min_fit_attempts": 0},
    ],
)
def test_bad_knobs_are_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        RefitSettings(**bad)
