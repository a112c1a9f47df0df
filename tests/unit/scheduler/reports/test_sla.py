"""The SLA report's numbers on hand-built frames with known answers."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pandas as pd
import pytest

from scheduler.errors import InvalidArgument
from scheduler.reports import SlaReport, sla_report
from scheduler.reports.exact import nearest_rank
from scheduler.reports.sla import histogram
from tests.unit.scheduler.reports.frames import HOUR, T0, Frames

D = Decimal
S = 1_000_000  # microseconds per second


def test_attainment_counts_failures_as_misses_and_leaves_cancellations_out() -> None:
    f = Frames()
    for i in range(3):
        f.job(f"ok{i}")
    f.job("late", finished=T0 + 3 * HOUR)
    f.job("failed", state="FAILED")
    f.job("cancelled", state="CANCELLED")
    f.job("running", state="RUNNING", finished=None)
    g = sla_report(f.inputs()).overall
    assert (g.jobs, g.succeeded, g.failed, g.cancelled, g.on_time, g.late) == (6, 4, 1, 1, 3, 1)
    assert g.attainment_pct == D("60.00")  # 3 on time / (4 succeeded + 1 failed)


def test_attainment_is_none_when_only_cancelled_jobs_finished() -> None:
    f = Frames()
    f.job("c", state="CANCELLED")
    report = sla_report(f.inputs())
    assert report.overall.attainment_pct is None
    assert report.overall.lateness is None


def test_a_job_finishing_exactly_at_its_deadline_is_on_time() -> None:
    f = Frames()
    f.job("edge", finished=T0 + 2 * HOUR, deadline=T0 + 2 * HOUR)
    assert sla_report(f.inputs()).overall.on_time == 1


def test_lateness_percentiles_are_nearest_rank_over_late_jobs_only() -> None:
    f = Frames()
    f.job("on-time")
    for i in range(1, 11):  # 10 s, 20 s, ... 100 s late
        f.job(f"late{i:02d}", finished=T0 + 2 * HOUR + timedelta(seconds=10 * i))
    late = sla_report(f.inputs()).overall.lateness
    assert late is not None
    assert (late.count, late.p50_s, late.p95_s, late.max_s) == (
        10,
        D("50.000000"),  # rank ceil(0.50 x 10) = 5
        D("100.000000"),  # rank ceil(0.95 x 10) = 10
        D("100.000000"),
    )


def test_nearest_rank() -> None:
    assert nearest_rank([1, 2, 60], 50) == 2
    assert nearest_rank([1, 2, 60], 95) == 60
    assert nearest_rank([7], 50) == 7
    assert nearest_rank(list(range(1, 101)), 95) == 95
    with pytest.raises(ValueError):
        nearest_rank([], 50)


def test_range_is_half_open_and_tenant_filters() -> None:
    f = Frames()
    f.job("at-from", finished=T0 + HOUR)
    f.job("inside", finished=T0 + 90 * timedelta(minutes=1), tenant="t2")
    f.job("at-to", finished=T0 + 2 * HOUR)
    report = sla_report(f.inputs(), start=T0 + HOUR, end=T0 + 2 * HOUR)
    assert report.overall.jobs == 2
    assert [g.group for g in report.by_tenant] == ["t1", "t2"]
    assert report.first_finished == T0 + HOUR
    only = sla_report(f.inputs(), start=T0 + HOUR, end=T0 + 2 * HOUR, tenant="t2")
    assert only.overall.jobs == 1 and only.tenant == "t2"


def test_bad_ranges_and_sizes_name_the_field() -> None:
    inputs = Frames().inputs()
    with pytest.raises(InvalidArgument) as e:
        sla_report(inputs, start=T0, end=T0)
    assert e.value.field == "to"
    with pytest.raises(InvalidArgument) as e:
        sla_report(inputs, start=T0.replace(tzinfo=None))
    assert e.value.field == "from"
    with pytest.raises(InvalidArgument) as e:
        sla_report(inputs, worst=-1)
    assert e.value.field == "worst"


def test_cost_node_hours_and_gpu_hours() -> None:
    f = Frames()
    f.job("gpu", gpus=2)
    f.attempt("gpu", minutes=30, price=2_000_000)  # $1
    f.attempt("gpu", start=T0 + HOUR, minutes=90, price=2_000_000)  # $3
    f.job("cpu")
    f.attempt("cpu", minutes=60, price=500_000)  # $0.50, 1 node-hour, no GPU
    f.job("never-started")
    f.attempt("never-started", minutes=10, price=600_000, started=False)  # $0.10, 0 hours
    g = sla_report(f.inputs()).overall
    assert g.cost == D("4.600000")
    assert g.cost_per_job == D("1.533333")  # 4.6 / 3, half even
    assert g.node_hours == D("3.000000")  # 0.5 + 1.5 + 1 (+ 0 for the one never started)
    assert g.gpu_hours == D("4.000000")  # 2 GPUs x 2 h
    assert g.cost_per_gpu_hour == D("1.000000")  # the GPU job's $4 / 4 GPU-hours
    assert g.attempts == 4


def test_cost_per_gpu_hour_is_none_without_gpus() -> None:
    f = Frames()
    f.job("cpu")
    f.attempt("cpu")
    g = sla_report(f.inputs()).overall
    assert g.gpu_hours == D("0.000000") and g.cost_per_gpu_hour is None


def test_cost_per_job_rounds_half_to_even() -> None:
    f = Frames()
    f.job("a")
    f.attempt("a", cost=5)
    f.job("b")
    assert sla_report(f.inputs()).overall.cost_per_job == D("0.000002")  # 2.5 micros -> 2


def test_work_lost_is_progress_at_preemption_minus_the_checkpoint_resumed_from() -> None:
    f = Frames()
    # Estimated 1 hour. First attempt preempted at 50 %, the next resumed from 25 %:
    # 0.25 h lost. The second preempted at 90 %, no attempt after it, the job's last
    # checkpoint is 80 %: 0.1 h lost.
    f.job("j", estimate=HOUR, checkpoint=0.8, state="CANCELLED")
    f.attempt("j", market="spot", minutes=30, preempted=True, progress=0.5)
    f.attempt(
        "j", market="spot", start=T0 + HOUR, preempted=True, progress=0.9, start_progress=0.25
    )
    # Another job: its heartbeat (10 %) lagged the checkpoint it resumed from (50 %).
    f.job("lagging", estimate=2 * HOUR)
    f.attempt("lagging", market="spot", preempted=True, progress=0.1)
    f.attempt("lagging", market="spot", start=T0 + HOUR, start_progress=0.5)
    g = sla_report(f.inputs()).overall
    assert g.preemptions == 3
    assert g.work_lost_hours == D("0.350000")


def test_spot_share_and_savings_against_all_on_demand() -> None:
    f = Frames()
    f.job("od")
    f.attempt("od", market="on-demand", price=1_000_000)  # $1, 1 h
    f.job("spot")
    # Spot at $0.30/h for 3 h: $0.90; the same type ran on demand at $1/h -> $3.
    f.attempt("spot", market="spot", price=300_000, minutes=180)
    f.job("unpriced")
    f.attempt("unpriced", market="spot", price=100_000, instance_type="x-1")  # $0.10
    g = sla_report(f.inputs()).overall
    assert g.cost == D("2.000000")
    assert g.spot_cost == D("1.000000")
    assert g.spot_cost_share_pct == D("50.00")
    assert g.node_hours == D("5.000000") and g.spot_node_hours == D("4.000000")
    assert g.spot_hours_share_pct == D("80.00")
    assert g.on_demand_cost == D("4.100000")  # 1 + 3 + 0.10 (unpriced: at its cost)
    assert g.savings == D("2.100000")
    assert g.savings_pct == D("51.22")  # 2.1 / 4.1
    assert g.unpriced_spot_attempts == 1


def test_savings_use_the_price_table_where_no_on_demand_attempt_ran() -> None:
    f = Frames()
    f.job("spot")
    f.attempt("spot", market="spot", price=200_000, region="europe-west4")
    prices = pd.DataFrame(
        [("local", "europe-west4", "e2-standard-2", "on-demand", 800_000)],
        columns=["cloud", "region", "instance_type", "market", "price_micros_per_hour"],
    )
    g = sla_report(f.inputs(prices)).overall
    assert (g.on_demand_cost, g.savings, g.unpriced_spot_attempts) == (
        D("0.800000"),
        D("0.600000"),
        0,
    )


def test_groups_by_tenant_and_label_with_none_for_unlabelled_jobs() -> None:
    f = Frames()
    f.job("a1", tenant="acme", labels={"team": "ml"})
    f.job("a2", tenant="acme", labels={"team": "etl"}, state="FAILED")
    f.job("b1", tenant="beta")
    report = sla_report(f.inputs(), label_key="team")
    assert [(g.dimension, g.group, g.jobs) for g in report.groups] == [
        ("all", "all", 3),
        ("tenant", "acme", 2),
        ("tenant", "beta", 1),
        ("label:team", "(none)", 1),
        ("label:team", "etl", 1),
        ("label:team", "ml", 1),
    ]
    assert report.by_tenant[0].attainment_pct == D("50.00")
    assert report.worst_misses[0].label == "etl"


def test_worst_misses_failures_first_then_by_lateness_with_reasons_from_events() -> None:
    f = Frames()
    deadline = T0 + 2 * HOUR
    f.job("ok")
    f.job("failed", state="FAILED", final_detail="Traceback: boom")
    f.job("preempted", finished=deadline + timedelta(minutes=30))
    f.attempt("preempted", market="spot", preempted=True, progress=0.5)
    f.attempt("preempted", market="spot", start=T0 + HOUR, start_progress=0.5)
    f.event("preempted", "RUNNING", "PREEMPTED", T0 + HOUR, "spot node preempted")
    f.event("preempted", "PREEMPTED", "PENDING", T0 + HOUR, "requeued after preemption")
    f.job("no-capacity", finished=deadline + timedelta(minutes=45))
    f.event("no-capacity", "LAUNCHING", "PENDING", T0, "launch failed: no capacity")
    f.job("slow", finished=deadline + timedelta(minutes=5), estimate=timedelta(minutes=30))
    f.event("slow", "PLANNED", "LAUNCHING", T0 + timedelta(minutes=2), "launching")
    f.attempt("slow", minutes=125)
    f.job("queued", finished=deadline + timedelta(minutes=1))
    f.event("queued", "PLANNED", "LAUNCHING", T0 + HOUR, "launching")
    f.attempt("queued", start=T0 + HOUR, minutes=30)
    f.job("planned-late", finished=deadline + timedelta(seconds=30))
    f.event("planned-late", "PENDING", "PLANNED", T0, "planned", "o1 (late: no timely offering)")
    misses = sla_report(f.inputs(), worst=6).worst_misses
    assert [(m.job_id, m.reason) for m in misses] == [
        ("failed", "command exited with 3 (Traceback: boom)"),
        ("no-capacity", "pending: launch failed: no capacity"),
        ("preempted", "preempted: spot node preempted"),
        ("slow", "no setback recorded; ran 2h05m against an estimated 30m00s"),
        ("queued", "no setback recorded; waited 1h00m to launch"),
        ("planned-late", "planned late: o1 (late: no timely offering)"),
    ]
    assert misses[0].lateness_s is None
    assert misses[2].lateness_s == D("1800.000000") and misses[2].preemptions == 1
    assert misses[3].queued_s == D("120.000000") and misses[3].run_s == D("7500.000000")
    assert sla_report(f.inputs(), worst=2).worst_misses == misses[:2]


def test_histogram_bins_are_nice_and_cover_the_largest() -> None:
    bins = histogram([30 * S, 90 * S, 700 * S, 0])
    assert len(bins) == 12  # 60 s wide: 12 x 60 s > 700 s
    assert (bins[0].low_s, bins[0].high_s) == (D("0.000000"), D("60.000000"))
    assert [b.count for b in bins] == [1, 1] + [0] * 9 + [1]
    assert histogram([]) == ()
    huge = histogram([100 * 86400 * S])  # 100 days: past the widest nice width
    assert sum(b.count for b in huge) == 1 and len(huge) <= 12


def test_cost_over_time_splits_spot_from_on_demand() -> None:
    f = Frames()
    f.job("a")
    f.attempt("a", market="spot", price=600_000, minutes=30)  # ends 12:30, $0.30
    f.attempt("a", start=T0 + HOUR, price=1_000_000, minutes=60)  # ends 14:00, $1
    report = sla_report(f.inputs())
    assert report.cost_period == "5min"  # 90 minutes apart: 19 periods of 5 minutes
    periods = report.cost_over_time
    assert len(periods) == 19 and periods[0].start == T0 + timedelta(minutes=30)
    assert (periods[0].spot, periods[0].on_demand) == (D("0.300000"), D("0.000000"))
    assert (periods[-1].spot, periods[-1].on_demand) == (D("0.000000"), D("1.000000"))
    assert all(p.spot == p.on_demand == 0 for p in periods[1:-1])


def test_empty_store_gives_an_empty_report() -> None:
    report = sla_report(Frames().inputs(), label_key="team")
    assert report.overall.jobs == 0 and report.overall.cost == D("0.000000")
    assert report.overall.cost_per_job is None
    assert report.by_tenant == () and report.by_label == () and report.worst_misses == ()
    assert report.cost_over_time == () and report.first_finished is None


def test_json_round_trips_exactly() -> None:
    f = Frames()
    f.job("a", labels={"team": "ml"}, finished=T0 + 3 * HOUR)
    f.attempt("a", market="spot", price=300_000)
    report = sla_report(f.inputs(), start=T0, end=T0 + 5 * HOUR, label_key="team")
    doc = report.to_dict()
    assert doc["overall"]["cost"] == "0.300000"  # decimals are strings
    assert doc["range_from"] == "2026-03-01T12:00:00Z"
    assert SlaReport.from_json(report.to_json()) == report
