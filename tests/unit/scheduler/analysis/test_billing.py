"""The bill against skybatch's computed cost."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scheduler.analysis.billing import billed_vs_computed, billing_summary
from tests.unit.scheduler.analysis.synth import Store


def store() -> Store:
    s = Store()
    a0 = s.attempt("j1", price=1_000_000, cost=500_000)
    a1 = s.attempt("j2", market="spot", price=200_000, cost=100_000)
    s.attempt("j3", price=1_000_000, cost=250_000)  # not billed (yet)
    s.line(a0, "0.3", effective="0.28", listed="0.4", hours=0.4)
    s.line(a0, "0.1", effective="0.1", listed="0.1", hours=0.1)
    s.line(a1, "0.09", hours=0.5)
    s.line(None, "5.000000001")
    return s


def test_per_attempt_billed_against_computed() -> None:
    attempts, _, _, lines = store().frames()
    table = billed_vs_computed(attempts, lines)
    assert list(table["attempt_id"]) == ["a000", "a001"]
    first, second = table.iloc[0], table.iloc[1]
    assert first["lines"] == 2
    assert (first["computed"], first["billed"], first["effective"], first["listed"]) == (
        Decimal("0.5"),
        Decimal("0.4"),
        Decimal("0.38"),
        Decimal("0.5"),
    )
    assert first["difference"] == Decimal("-0.1")
    assert first["billed_over_computed"] == pytest.approx(0.8)
    assert first["effective_over_list"] == pytest.approx(0.76)
    assert first["computed_hours"] == pytest.approx(0.5)
    assert first["billed_hours"] == pytest.approx(0.5)
    assert second["listed"] is None
    assert second["billed"] == Decimal("0.09")


def test_summary_accounts_for_every_line() -> None:
    attempts, _, _, lines = store().frames()
    s = billing_summary(attempts, lines)
    assert (s.lines, s.matched_lines, s.attempts_billed, s.attempts_unbilled) == (4, 3, 2, 1)
    assert s.billed == Decimal("5.490000001")
    assert s.matched_billed + s.unmatched_billed == s.billed
    assert s.computed == Decimal("0.6")
    assert s.billed_over_computed == pytest.approx(0.49 / 0.6)
    assert s.matched_listed == Decimal("0.5")  # the spot attempt's line gives no ListCost
    assert s.effective_over_list == pytest.approx(0.38 / 0.5)


def test_no_bill_yet() -> None:
    s = Store()
    s.attempt("j1", cost=5)
    attempts, _, _, lines = s.frames()
    assert billed_vs_computed(attempts, lines).empty
    summary = billing_summary(attempts, lines)
    assert summary.lines == 0 and summary.attempts_unbilled == 1
    assert summary.billed_over_computed is None and summary.effective_over_list is None
