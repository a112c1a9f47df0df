"""Spend frames and grouping: exact sums per period and attribute."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from scheduler.analysis.spend import (
    NONE,
    OTHER,
    attempt_spend,
    auto_freq,
    billed_spend,
    group_key,
    label_columns,
    market_share,
    spend_by,
    top_columns,
    totals_by,
)
from tests.unit.scheduler.analysis.synth import T0, Store


def store() -> Store:
    s = Store()
    s.job("ja", tenant="alice", labels={"team": "x", "class": "etl"})
    s.job("jb", tenant="bob", labels={"team": "y"})
    s.job("jc", tenant="bob")
    s.attempt("ja", cost=100_000, price=1_000_000, at=T0)  # ends 13:00
    s.attempt("ja", cost=200_000, market="spot", price=400_000, at=T0 + timedelta(hours=2))
    s.attempt("jb", cost=300_000, at=T0, region="europe-west4", minutes=30)  # ends 12:30
    s.attempt("jc", cost=0, at=T0 + timedelta(hours=3), ended=False)
    return s


def test_attempt_spend_has_job_attributes_and_exact_cost() -> None:
    attempts, jobs, labels, _ = store().frames()
    spend = attempt_spend(attempts, jobs, labels)
    assert list(spend["tenant"]) == ["alice", "alice", "bob", "bob"]
    assert list(spend["label:team"]) == ["x", "x", "y", NONE]
    assert list(spend["label:class"]) == ["etl", "etl", NONE, NONE]
    assert list(spend["cost"]) == [Decimal("0.1"), Decimal("0.2"), Decimal("0.3"), Decimal(0)]
    assert spend["hours"].tolist() == pytest.approx([0.1, 0.5, 0.3, 0.0])
    # Counted when it ended; the running attempt when it started.
    assert spend["at"].iloc[0] == pd.Timestamp(T0 + timedelta(hours=1))
    assert spend["at"].iloc[3] == pd.Timestamp(T0 + timedelta(hours=3))


def test_spend_by_sums_exactly_per_period_and_group_with_empty_periods() -> None:
    attempts, jobs, labels, _ = store().frames()
    table = spend_by(attempt_spend(attempts, jobs, labels), "tenant", freq="h")
    assert list(table.columns) == ["alice", "bob"]
    assert list(table.index) == [
        pd.Timestamp(T0 + timedelta(hours=h)) for h in range(4)
    ]  # 12:00 .. 15:00, 14:00 included although empty
    assert table.loc[pd.Timestamp(T0), "bob"] == Decimal("0.3")
    assert table.loc[pd.Timestamp(T0 + timedelta(hours=1)), "alice"] == Decimal("0.1")
    assert table.loc[pd.Timestamp(T0 + timedelta(hours=2)), "alice"] == Decimal(0)
    assert table.loc[pd.Timestamp(T0 + timedelta(hours=3)), "alice"] == Decimal("0.2")
    assert all(isinstance(v, Decimal) for v in table.to_numpy().ravel())


def test_spend_by_several_columns_joins_their_values() -> None:
    attempts, jobs, labels, _ = store().frames()
    spend = attempt_spend(attempts, jobs, labels)
    table = spend_by(spend, ["region", "market"], freq="D")
    assert list(table.columns) == [
        "europe-west4/on-demand",
        "us-central1/on-demand",
        "us-central1/spot",
    ]
    assert table.sum().tolist() == [Decimal("0.3"), Decimal("0.1"), Decimal("0.2")]
    with pytest.raises(KeyError):
        group_key(spend, "label:nope")


def test_empty_frames_give_empty_tables() -> None:
    attempts, jobs, labels, lines = Store().frames()
    spend = attempt_spend(attempts, jobs, labels)
    assert spend.empty and spend_by(spend, "tenant").empty
    assert totals_by(spend, "tenant").empty and market_share(spend).empty
    assert billed_spend(lines, attempts, jobs, labels).empty
    assert label_columns(labels).empty


def test_billed_spend_takes_attributes_from_the_matched_attempt() -> None:
    s = store()
    s.line("a001", "0.15", at=T0 + timedelta(hours=2, minutes=30), hours=0.5)
    s.line(None, "7.5", provider="other cloud", region=None)
    attempts, jobs, labels, lines = s.frames()
    billed = billed_spend(lines, attempts, jobs, labels)
    matched, unmatched = billed.iloc[0], billed.iloc[1]
    assert (matched["tenant"], matched["market"], matched["label:team"]) == ("alice", "spot", "x")
    assert matched["cost"] == Decimal("0.15") and matched["hours"] == 0.5
    assert matched["at"] == pd.Timestamp(T0 + timedelta(hours=2))
    assert (unmatched["cloud"], unmatched["region"], unmatched["tenant"]) == (
        "other cloud",
        NONE,
        NONE,
    )
    assert totals_by(billed, "cloud").to_dict() == {
        "other cloud": Decimal("7.5"),
        "local": Decimal("0.15"),
    }


def test_market_share() -> None:
    attempts, jobs, labels, _ = store().frames()
    share = market_share(attempt_spend(attempts, jobs, labels))
    assert share.loc["spot", "cost"] == Decimal("0.2")
    assert share.loc["on-demand", "cost"] == Decimal("0.4")
    assert share.loc["spot", "cost_share"] == pytest.approx(1 / 3)
    assert share.loc["on-demand", "items"] == 3


@pytest.mark.parametrize(
    ("span", "freq"),
    [
        (timedelta(seconds=10), "min"),
        (timedelta(hours=2), "5min"),
        (timedelta(hours=30), "h"),
        (timedelta(days=40), "D"),
        (timedelta(days=400), "7D"),
    ],
)
def test_auto_freq(span: timedelta, freq: str) -> None:
    assert auto_freq(pd.Series([T0, T0 + span])) == freq


def test_auto_freq_of_nothing() -> None:
    assert auto_freq(pd.Series([], dtype="datetime64[ns, UTC]")) == "h"


def test_top_columns_gathers_the_rest_exactly() -> None:
    index = pd.date_range(T0, periods=2, freq="h", name="period")
    table = pd.DataFrame(
        {
            "a": [Decimal("0.1"), Decimal("0.2")],
            "b": [Decimal("5"), Decimal(0)],
            "c": [Decimal("0.1"), Decimal("0.1")],
            "d": [Decimal("0.0000001"), Decimal(0)],
        },
        index=index,
        dtype=object,
    )
    top = top_columns(table, 2)
    assert list(top.columns) == ["b", "a", OTHER]
    assert top[OTHER].tolist() == [Decimal("0.1000001"), Decimal("0.1")]
    assert top_columns(table, 4) is table
