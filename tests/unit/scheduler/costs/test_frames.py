"""Input frames: a missing column or an unusable value gives an error naming it."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from scheduler.costs import (
    ATTEMPT_COLUMNS,
    BILLING_COLUMNS,
    JOB_COLUMNS,
    CostModel,
    FrameSchemaError,
    empty_attempts,
    empty_billing,
    empty_jobs,
    refit,
)
from scheduler.costs.frames import attempts_frame, billing_frame
from tests.unit.scheduler.costs.synth import History, offering

VM = offering("gcp", "us-central1", "n2-standard-4", price="0.19")
SPOT = offering("gcp", "us-central1", "n2-standard-4", "spot", price="0.05", hazard=0.01)
CATALOG = [VM, SPOT]


def _frames() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    h = History()
    h.run(VM, hours=2, ratio=0.8)
    return h.frames()


@pytest.mark.parametrize(
    ("which", "column"),
    [(0, c) for c in ATTEMPT_COLUMNS]
    + [(1, c) for c in JOB_COLUMNS]
    + [(2, c) for c in BILLING_COLUMNS],
)
def test_a_missing_column_is_named(which: int, column: str) -> None:
    frames = list(_frames())
    frames[which] = frames[which].drop(columns=[column])
    name = ("attempts", "jobs", "billing")[which]
    with pytest.raises(
        FrameSchemaError, match=rf"{name} frame: missing column\(s\) {column}$"
    ) as e:
        refit(frames[0], frames[1], frames[2], CATALOG)
    assert e.value.frame == name
    assert e.value.columns == (column,)


def test_every_missing_column_is_named_at_once() -> None:
    attempts, jobs, billing = _frames()
    with pytest.raises(FrameSchemaError) as e:
        refit(attempts.drop(columns=["zone", "market"]), jobs, billing, CATALOG)
    assert e.value.columns == ("zone", "market")


def test_naive_times_an_unknown_market_and_duplicate_ids_are_refused() -> None:
    attempts, jobs, billing = _frames()
    naive = attempts.assign(created_at=[datetime(2025, 1, 1)])
    with pytest.raises(FrameSchemaError, match="created_at must be timezone-aware"):
        refit(naive, jobs, billing, CATALOG)
    with pytest.raises(FrameSchemaError, match="market must be"):
        refit(attempts.assign(market=["preemptible"]), jobs, billing, CATALOG)
    with pytest.raises(FrameSchemaError, match="duplicate attempt_id: a00000"):
        refit(pd.concat([attempts, attempts]), jobs, billing, CATALOG)
    with pytest.raises(FrameSchemaError, match="EffectiveCost: not money"):
        refit(attempts, jobs, billing.assign(EffectiveCost="lots"), CATALOG)


def test_inputs_are_not_modified() -> None:
    attempts, jobs, billing = _frames()
    copies = (attempts.copy(), jobs.copy(), billing.copy())
    refit(attempts, jobs, billing, CATALOG)
    for before, after in zip(copies, (attempts, jobs, billing), strict=True):
        pd.testing.assert_frame_equal(before, after)


def test_values_are_normalized() -> None:
    attempts, _, billing = _frames()
    attempts = attempts.assign(
        created_at=attempts["created_at"].dt.tz_convert("Europe/Paris"),
        preempted=[None],
        start_progress=[None],
        list_price_micros_per_hour=[190_000.0],
    )
    a = attempts_frame(attempts)
    assert str(a["created_at"].dt.tz) == "UTC"
    assert a.loc[0, "created_at"] == attempts.loc[0, "created_at"]
    assert not a.loc[0, "preempted"]
    assert a.loc[0, "start_progress"] == 0.0
    assert a["list_price_micros_per_hour"].dtype == np.int64
    b = billing_frame(billing.assign(ListCost=[1, "0.5"], BilledCost=[np.nan, None]))
    assert list(b["ListCost"]) == [Decimal(1), Decimal("0.5")]
    assert list(b["BilledCost"]) == [None, None]
    assert list(b["hours"]) == [1.0, 1.0]


@pytest.mark.parametrize("typed", [True, False])
def test_empty_inputs_give_the_catalog_model(typed: bool) -> None:
    if typed:
        frames = (empty_attempts(), empty_jobs(), empty_billing())
    else:
        frames = (
            pd.DataFrame(columns=list(ATTEMPT_COLUMNS)),
            pd.DataFrame(columns=list(JOB_COLUMNS)),
            pd.DataFrame(columns=list(BILLING_COLUMNS)),
        )
    result = refit(*frames, CATALOG)
    assert result.params.empty
    assert "skipped" in result.accuracy["holdout"]
    assert result.inputs["attempts"] == 0
    assert result.inputs["first_created_at"] is None
    for o in CATALOG:
        assert result.model.offering(o) == o
        assert CostModel.catalog().offering(o) == o
    assert refit(*frames, []).params.empty
