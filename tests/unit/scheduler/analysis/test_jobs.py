"""The costliest jobs table."""

from __future__ import annotations

from decimal import Decimal

import pytest

from scheduler.analysis.jobs import costliest_jobs
from tests.unit.scheduler.analysis.synth import Store


def test_costliest_first_with_billed_cost_and_placement() -> None:
    s = Store()
    s.job("cheap", tenant="t1", labels={"team": "x"})
    s.job("big", tenant="t2", labels={"team": "y", "class": "etl"})
    s.job("tie-b")
    s.job("tie-a")
    s.attempt("cheap", cost=10)
    a = s.attempt("big", cost=900, market="spot", preempted=True)
    s.attempt("big", cost=100, instance_type="n2-standard-8", region="europe-west4")
    s.attempt("tie-b", cost=50)
    s.attempt("tie-a", cost=50)
    s.line(a, "0.0008")
    attempts, jobs, labels, lines = s.frames()
    table = costliest_jobs(jobs, attempts, labels, lines, n=3)
    assert list(table["job_id"]) == ["big", "tie-a", "tie-b"]
    big = table.iloc[0]
    assert big["cost"] == Decimal("0.001000") and big["billed"] == Decimal("0.0008")
    assert (big["attempts"], big["preemptions"]) == (2, 1)
    assert big["markets"] == "on-demand,spot"
    assert big["instance_types"] == "e2-standard-2,n2-standard-8"
    assert big["labels"] == "class=etl,team=y"
    assert table.iloc[1]["billed"] is None
    assert costliest_jobs(jobs, attempts, labels).iloc[0]["billed"] is None


def test_jobs_that_never_ran_and_no_jobs() -> None:
    s = Store()
    s.job("waiting")
    attempts, jobs, labels, lines = s.frames()
    table = costliest_jobs(jobs, attempts, labels, lines)
    assert table.iloc[0]["attempts"] == 0 and table.iloc[0]["markets"] == ""
    attempts, jobs, labels, lines = Store().frames()
    assert costliest_jobs(jobs, attempts, labels, lines).empty
    with pytest.raises(ValueError):
        costliest_jobs(jobs, attempts, labels, n=0)
