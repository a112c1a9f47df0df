"""The whole refit: held-back accuracy against the catalog, determinism, JSON, diff."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from scheduler.costs import (
    CostModel,
    CostModelError,
    CostModelParams,
    ParamChange,
    RefitSettings,
    diff,
    refit,
)
from tests.unit.scheduler.costs.synth import T0, History, offering

N2 = offering("gcp", "us-central1", "n2-standard-4", price="0.194236")
E2 = offering("gcp", "us-central1", "e2-standard-4", price="0.134")
EAST = offering("aws", "us-east-1", "m5.large", "spot", price="0.04", hazard=0.02)
WEST = offering("aws", "us-west-2", "m5.large", "spot", price="0.04", hazard=0.02)
CATALOG = [N2, E2, EAST, WEST]


def scenario(discount: float, days: int = 30) -> History:
    """Each day: a discounted n2 job of class ``train`` (1.3-1.5x its estimate), an e2
    job at list price, and four 5 h spot attempts in each AWS region, the west being
    preempted four times as often as the catalog says (0.08/h against 0.02/h)."""
    h = History()
    for day in range(days):
        t = T0 + timedelta(days=day)
        slow = 1.3 + 0.2 * ((day * 7) % 10) / 9
        h.run(N2, at=t, hours=4 * slow, ratio=discount, class_key="train", estimate_s=4 * 3600)
        h.run(E2, at=t + timedelta(hours=1), hours=3, class_key="etl")
        for k in range(4):
            n = day * 4 + k
            at = t + timedelta(hours=2 + k)
            h.run(EAST, at=at, hours=5, preempted=n % 10 == 0, class_key="sweep")
            h.run(WEST, at=at, hours=5, preempted=n % 5 < 2, class_key="sweep")
    return h


def test_held_back_accuracy_beats_the_catalog_when_there_is_a_discount() -> None:
    result = refit(*scenario(0.7).frames(), CATALOG)
    acc = result.accuracy
    holdout = acc["holdout"]
    assert holdout["fit_attempts"] + holdout["holdout_attempts"] == 300
    assert holdout["holdout_attempts"] == 60
    cost = acc["cost"]
    assert cost["attempts"] == 60
    assert cost["fitted"]["mape"] < 0.02
    # The catalog over-predicts the discounted n2 by 1/0.7 - 1 = 43%, on 6 of 60 attempts.
    assert cost["catalog"]["mape"] == pytest.approx(6 / 60 * (1 / 0.7 - 1), rel=0.01)
    assert cost["catalog"]["bias"] > 0.04
    assert abs(cost["fitted"]["bias"]) < 0.01
    assert abs(cost["fitted"]["total_error"]) < abs(cost["catalog"]["total_error"])

    west = acc["preemption"]["by_region"]["aws/us-west-2"]
    assert west["observed"] > 0
    assert west["prior"]["ratio"] == pytest.approx(0.25, rel=0.2)
    assert abs(west["fitted"]["ratio"] - 1) < abs(west["prior"]["ratio"] - 1)
    assert acc["preemption"]["overall"]["attempts"] == 48

    runtime = acc["runtime"]
    # The train jobs run longer than 1.2x their estimate; the others as estimated.
    assert runtime["jobs"] > 0
    assert runtime["prior_coverage"] < runtime["fitted_coverage"]
    assert runtime["fitted_coverage"] >= 0.9

    json.dumps(acc, allow_nan=False)
    json.dumps(result.inputs, allow_nan=False)


def test_held_back_accuracy_equals_the_catalogs_without_a_discount() -> None:
    cost = refit(*scenario(1.0).frames(), CATALOG).accuracy["cost"]
    assert cost["catalog"]["mape"] == pytest.approx(0.0, abs=1e-6)
    assert cost["fitted"]["mape"] == pytest.approx(cost["catalog"]["mape"], abs=0.005)


def test_too_little_history_skips_accuracy_but_still_fits() -> None:
    h = History()
    for i in range(6):
        h.run(N2, at=T0 + timedelta(hours=i), ratio=0.7)
    result = refit(*h.frames(), CATALOG)
    assert result.accuracy == {"holdout": {"skipped": "6 ended attempts, need 10 or more"}}
    assert not result.params.empty
    tight = RefitSettings(min_holdout_attempts=2, min_fit_attempts=2)
    acc = refit(*h.frames(), CATALOG, settings=tight).accuracy
    assert (acc["holdout"]["fit_attempts"], acc["holdout"]["holdout_attempts"]) == (4, 2)


def test_attempts_ending_at_the_cutoff_are_all_held_back() -> None:
    h = History()
    for i in range(12):
        h.run(N2, at=T0 + timedelta(hours=min(i, 5)), ratio=0.7)  # the last seven end together
    acc = refit(*h.frames(), CATALOG).accuracy
    assert (acc["holdout"]["fit_attempts"], acc["holdout"]["holdout_attempts"]) == (5, 7)
    acc = refit(*h.frames(), CATALOG, settings=RefitSettings(min_fit_attempts=6)).accuracy
    assert acc == {
        "holdout": {
            "skipped": "5 attempts ended before the cutoff 2025-03-01T06:01:00+00:00, need 6"
        }
    }


def _shuffled(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    order = np.random.default_rng(seed).permutation(len(frame))
    return frame.iloc[order].reset_index(drop=True)


def test_shuffled_input_gives_the_same_output() -> None:
    attempts, jobs, billing = scenario(0.7).frames()
    a = refit(attempts, jobs, billing, CATALOG)
    b = refit(
        _shuffled(attempts, 1), _shuffled(jobs, 2), _shuffled(billing, 3), list(reversed(CATALOG))
    )
    assert json.dumps(a.params.to_json()) == json.dumps(b.params.to_json())
    assert a.params == b.params
    assert a.accuracy == b.accuracy
    assert a.inputs == b.inputs


def test_params_round_trip_through_json() -> None:
    params = refit(*scenario(0.7).frames(), CATALOG).params
    text = json.dumps(params.to_json(), allow_nan=False)
    back = CostModelParams.from_json(json.loads(text))
    assert back == params
    assert json.dumps(back.to_json()) == text
    model = CostModel.from_json(json.loads(text))
    assert [model.offering(o) for o in CATALOG] == [CostModel(params).offering(o) for o in CATALOG]
    assert CostModelParams.from_json(CostModelParams().to_json()) == CostModelParams()


def test_params_json_is_checked() -> None:
    good = refit(*scenario(0.7, days=2).frames(), CATALOG).params.to_json()
    with pytest.raises(CostModelError, match="schema"):
        CostModelParams.from_json({**good, "schema": 99})
    broken = {**good, "prices": [{"level": "offering", "key": "x"}]}
    with pytest.raises(CostModelError, match="malformed"):
        CostModelParams.from_json(broken)
    # Knobs a later version added are ignored; missing ones take their default.
    knobs = {**good["knobs"], "from_the_future": 1}
    del knobs["runtime_quantile"]
    assert CostModelParams.from_json({**good, "knobs": knobs}).knobs.runtime_quantile == 0.9


def test_diff_lists_what_moved_beyond_the_tolerance() -> None:
    early = refit(*scenario(0.7, days=10).frames(), CATALOG).params
    late = refit(*scenario(0.7, days=30).frames(), CATALOG).params
    assert diff(late, late) == []
    changes = diff(early, late)
    assert changes == sorted(
        changes,
        key=lambda c: (
            ["price_ratio", "hazard", "runtime_factor", "launch_delay_s", "knob"].index(c.kind),
            c.key,
        ),
    )
    for c in changes:
        assert c.old is not None and c.new is not None
        assert c.relative_change is not None and abs(c.relative_change) > 0.01
    assert diff(early, late, rel_tol=10) == []

    added = diff(CostModelParams(), late)
    assert len(added) == (
        len(late.prices) + len(late.hazards) + len(late.runtimes) + len(late.launch_delays)
    )
    assert all(c.old is None and c.relative_change is None for c in added)
    assert all(c.new is None for c in diff(late, CostModelParams()))

    knob = diff(early, replace(early, knobs=RefitSettings(runtime_quantile=0.95)))
    assert knob == [
        ParamChange("knob", "runtime_quantile", 0.9, 0.95, pytest.approx(0.0555, abs=1e-3))
    ]
