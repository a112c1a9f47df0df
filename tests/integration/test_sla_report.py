"""The SLA report on real stores, through the CLI and the gRPC call, checked against
the store: every number is recomputed here from the SQLite file with plain ``sqlite3``
and ``Decimal`` (not through ``scheduler.reports`` or ``scheduler.analysis``) and must
agree exactly; the HTML page must be well-formed and self-contained.

Two stores: the shared short run (tests/support/short_run.py: every job on time, one
preemption, spot and on-demand) and a run of this module's own with jobs that miss:
one finishes late (it runs 9.6 s against an estimated 1 s and a 6 s deadline), one
fails, one is cancelled while it runs.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal, localcontext
from pathlib import Path
from typing import Any

import grpc
import pytest
from libcloud.compute.types import NodeState

from adapters.local import PreemptionPolicy, ScheduledPreemption
from adapters.local.catalog import build_catalog
from scheduler.api.client import SkybatchClient
from scheduler.api.gen.skybatch.v1 import reports_pb2 as pb
from scheduler.api.gen.skybatch.v1 import reports_pb2_grpc
from scheduler.api.report_client import ReportClient
from scheduler.cli.main import main
from scheduler.config import ServeConfig
from scheduler.control import ControlSettings
from scheduler.domain import JobState, utcnow
from scheduler.reports import SlaReport
from scheduler.service import Service
from scheduler.store import AttemptStore
from scheduler.store.engine import sqlite_url
from tests.e2e.helpers import counter_job, running, terminal, wait_for, wait_no_live_nodes
from tests.support.short_run import ShortRun, short_run  # noqa: F401  (the fixture)
from tests.unit.scheduler.reports.pagecheck import check_page

# -- a run with misses ----------------------------------------------------------------


@dataclass(frozen=True)
class MissRun:
    service: Service
    db_path: Path
    ids: dict[str, str]


def _submit(svc: Service, tenant: str, specs: list[Any]) -> list[str]:
    with SkybatchClient(svc.address, tenant=tenant) as c:
        c.wait_ready()
        return [job.id for job, _ in c.submit(specs)]


@pytest.fixture(scope="module")
def miss_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MissRun]:
    data_dir = tmp_path_factory.mktemp("sla-run")
    config = ServeConfig(
        data_dir=data_dir,
        db_url=sqlite_url(data_dir / "skybatch.db"),
        bind="127.0.0.1:0",
        control=ControlSettings(tick_interval_s=0.3, restart_overhead_s=2, heartbeat_timeout_s=10),
        local_launch_delay_s=0.1,
        local_vcpu_quota=32,
        preemption=PreemptionPolicy(
            grace_s=0.5, schedule=(ScheduledPreemption(nth_spot_launch=1, after_s=1.5),)
        ),
        local_bill_interval_s=0,
        refit_interval_s=3600,
    )
    svc = Service(config)
    svc.start()
    try:
        a = {"team": "a"}
        b = {"team": "b"}
        fail = counter_job("a-fail", 6, 0.3, labels=a)
        fail = replace(fail, command=(*fail.command, "--fail-at", "2"))
        # Validation allows it (1 s + the offering's launch delay fits in 6 s); the
        # counter runs 9.6 s.
        late = counter_job(
            "a-late",
            24,
            0.4,
            labels=a,
            estimated_runtime=timedelta(seconds=1),
            deadline=utcnow() + timedelta(seconds=6),
        )
        ids_a = _submit(
            svc,
            "team-a",
            [counter_job("a-spot", 8, 0.4, spot_allowed=True, labels=a), late, fail],
        )
        ids_b = _submit(
            svc,
            "team-b",
            [
                counter_job("b-ok", 4, 0.3, labels=b),
                counter_job("b-cancel", 200, 0.3, labels=b),
                counter_job("b-nolabel", 4, 0.3),
            ],
        )
        ids = dict(zip(["a-spot", "a-late", "a-fail"], ids_a, strict=True))
        ids |= dict(zip(["b-ok", "b-cancel", "b-nolabel"], ids_b, strict=True))
        with SkybatchClient(svc.address, tenant="team-b") as c:
            wait_for(c, ids["b-cancel"], running, 60)
            c.cancel(ids["b-cancel"], reason="too slow")
        expected = {"a-fail": JobState.FAILED, "b-cancel": JobState.CANCELLED}
        for name, job_id in ids.items():
            with SkybatchClient(svc.address, tenant=f"team-{name[0]}") as c:
                done = wait_for(c, job_id, terminal, 60)
            assert done.state is expected.get(name, JobState.SUCCEEDED), (name, done)
        wait_no_live_nodes(svc)
        attempts = AttemptStore(svc.db)
        deadline = time.monotonic() + 15
        while attempts.live_attempts() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert attempts.live_attempts() == []
        yield MissRun(svc, data_dir / "skybatch.db", ids)
    finally:
        svc.stop(grace_s=0.5)
        for node in svc.driver.list_nodes():
            if node.state != NodeState.TERMINATED:
                svc.driver.destroy_node(node)


# -- the report recomputed from the SQLite file -----------------------------------------

MICRO = Decimal("0.000001")


def _t(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text).replace(tzinfo=UTC)


def _half_even(x: Decimal) -> int:
    return int(x.to_integral_value(ROUND_HALF_EVEN))


def _div(numerator: int, denominator: int) -> int:
    with localcontext() as ctx:
        ctx.prec = 60
        return _half_even(Decimal(numerator) / Decimal(denominator))


def _pct(numerator: int, denominator: int) -> str | None:
    if denominator == 0:
        return None
    return str((Decimal(_div(numerator * 10_000, denominator)) / 100).quantize(Decimal("0.01")))


def _dollars(micros: int) -> str:
    return str((Decimal(micros) / 1_000_000).quantize(MICRO))


def _hours(us: int) -> str:
    return _dollars(_div(us, 3600))  # micro-hours, as 6 places


def _seconds(us: int) -> str:
    return _dollars(us)


def _us(delta: timedelta) -> int:
    return (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds


def _rank(values: list[int], p: int) -> int:
    n = len(values)
    k = 1
    while k * 100 < p * n:  # the smallest rank k with k/n >= p/100
        k += 1
    return sorted(values)[k - 1]


def _on_demand_catalog() -> dict[tuple[str, str], int]:
    prices: dict[tuple[str, str], int] = {}
    for t in build_catalog():
        micros = _half_even(t.on_demand_price * 1_000_000)
        key = (t.region, t.name)
        prices[key] = min(prices.get(key, micros), micros)
    return prices


def recompute(
    db_path: Path,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    label_key: str | None = None,
) -> dict[tuple[str, str], dict[str, Any]]:
    """(dimension, group) -> the report's numbers, from the store's rows alone."""
    con = sqlite3.connect(db_path)
    con.row_factory = sqlite3.Row
    jobs = {
        r["id"]: r
        for r in con.execute(
            "SELECT id, tenant, state, deadline, finished_at, spec_json, checkpoint_progress, "
            "cost_micros FROM jobs WHERE state IN ('SUCCEEDED', 'FAILED', 'CANCELLED')"
        )
    }
    all_attempts = list(con.execute("SELECT * FROM attempts ORDER BY created_at, id"))
    labels = {
        r["job_id"]: r["value"]
        for r in con.execute("SELECT job_id, value FROM job_labels WHERE key = ?", (label_key,))
    }
    con.close()
    chosen = {}
    for job_id, j in jobs.items():
        finished = _t(j["finished_at"])
        assert finished is not None
        if (start and finished < start) or (end and finished >= end):
            continue
        chosen[job_id] = j
    catalog = _on_demand_catalog()
    on_demand_attempts = [
        a for a in all_attempts if a["market"] == "on-demand" and a["price_micros_per_hour"] > 0
    ]

    def counterfactual(a: sqlite3.Row) -> tuple[int, bool]:
        """(all-on-demand cost, unpriced)."""
        if a["market"] == "on-demand" or a["price_micros_per_hour"] <= 0:
            return a["cost_micros"], a["market"] != "on-demand"
        same = [
            o
            for o in on_demand_attempts
            if (o["cloud"], o["region"], o["instance_type"])
            == (a["cloud"], a["region"], a["instance_type"])
        ]
        if same:
            at = _t(a["created_at"])
            assert at is not None
            nearest = min(same, key=lambda o: abs(_us(_t(o["created_at"]) - at)))
            od = nearest["price_micros_per_hour"]
        elif a["cloud"] == "local" and (a["region"], a["instance_type"]) in catalog:
            od = catalog[(a["region"], a["instance_type"])]
        else:
            return a["cost_micros"], True
        return _div(a["cost_micros"] * od, a["price_micros_per_hour"]), False

    per_job: dict[str, dict[str, Any]] = {}
    for job_id, j in chosen.items():
        spec = json.loads(j["spec_json"])
        with localcontext() as ctx:
            ctx.prec = 100
            estimate_us = _half_even(Decimal(spec["estimated_runtime_s"]) * 1_000_000)
        gpus = spec["resources"]["gpu_count"]
        mine = [a for a in all_attempts if a["job_id"] == job_id]
        run = [
            _us(_t(a["ended_at"]) - _t(a["started_at"])) if a["started_at"] and a["ended_at"] else 0
            for a in mine
        ]
        lost = 0
        for i, a in enumerate(mine):
            if not a["preempted"]:
                continue
            restored = (
                mine[i + 1]["start_progress"] if i + 1 < len(mine) else j["checkpoint_progress"]
            )
            with localcontext() as ctx:
                ctx.prec = 100
                fraction = max(Decimal(0), Decimal(a["progress"]) - Decimal(restored))
                lost += _half_even(fraction * estimate_us)
        deadline, finished = _t(j["deadline"]), _t(j["finished_at"])
        assert deadline is not None and finished is not None
        cf = [counterfactual(a) for a in mine]
        cost = sum(a["cost_micros"] for a in mine)
        assert cost == j["cost_micros"]  # the job's own running total agrees
        per_job[job_id] = {
            "tenant": j["tenant"],
            "label": labels.get(job_id, "(none)"),
            "state": j["state"],
            "late_us": _us(finished - deadline)
            if j["state"] == "SUCCEEDED" and finished > deadline
            else None,
            "cost": cost,
            "spot": sum(a["cost_micros"] for a in mine if a["market"] == "spot"),
            "node_us": sum(run),
            "spot_us": sum(r for r, a in zip(run, mine, strict=True) if a["market"] == "spot"),
            "gpus": gpus,
            "attempts": len(mine),
            "preemptions": sum(1 for a in mine if a["preempted"]),
            "lost_us": lost,
            "on_demand": sum(c for c, _ in cf),
            "unpriced": sum(1 for _, u in cf if u),
        }

    def stats(rows: list[dict[str, Any]]) -> dict[str, Any]:
        ok = [r for r in rows if r["state"] == "SUCCEEDED"]
        late = [r["late_us"] for r in ok if r["late_us"] is not None]
        failed = sum(1 for r in rows if r["state"] == "FAILED")
        cost = sum(r["cost"] for r in rows)
        spot = sum(r["spot"] for r in rows)
        node_us = sum(r["node_us"] for r in rows)
        spot_us = sum(r["spot_us"] for r in rows)
        gpu_us = sum(r["node_us"] * r["gpus"] for r in rows)
        gpu_cost = sum(r["cost"] for r in rows if r["gpus"])
        on_demand = sum(r["on_demand"] for r in rows)
        return {
            "jobs": len(rows),
            "succeeded": len(ok),
            "failed": failed,
            "cancelled": sum(1 for r in rows if r["state"] == "CANCELLED"),
            "on_time": len(ok) - len(late),
            "late": len(late),
            "attainment_pct": _pct(len(ok) - len(late), len(ok) + failed),
            "lateness": {
                "count": len(late),
                "p50_s": _seconds(_rank(late, 50)),
                "p95_s": _seconds(_rank(late, 95)),
                "max_s": _seconds(max(late)),
            }
            if late
            else None,
            "cost": _dollars(cost),
            "cost_per_job": _dollars(_div(cost, len(rows))),
            "spot_cost": _dollars(spot),
            "spot_cost_share_pct": _pct(spot, cost),
            "node_hours": _hours(node_us),
            "spot_node_hours": _hours(spot_us),
            "spot_hours_share_pct": _pct(spot_us, node_us),
            "gpu_hours": _hours(gpu_us),
            "cost_per_gpu_hour": _dollars(_div(gpu_cost * 3_600_000_000, gpu_us))
            if gpu_us
            else None,
            "attempts": sum(r["attempts"] for r in rows),
            "preemptions": sum(r["preemptions"] for r in rows),
            "work_lost_hours": _hours(sum(r["lost_us"] for r in rows)),
            "on_demand_cost": _dollars(on_demand),
            "savings": _dollars(on_demand - cost),
            "savings_pct": _pct(on_demand - cost, on_demand),
            "unpriced_spot_attempts": sum(r["unpriced"] for r in rows),
        }

    rows = list(per_job.values())
    out = {("all", "all"): stats(rows)}
    for tenant in {r["tenant"] for r in rows}:
        out[("tenant", tenant)] = stats([r for r in rows if r["tenant"] == tenant])
    if label_key:
        for value in {r["label"] for r in rows}:
            out[(f"label:{label_key}", value)] = stats([r for r in rows if r["label"] == value])
    return out


def assert_agrees(doc: dict[str, Any], expected: dict[tuple[str, str], dict[str, Any]]) -> None:
    groups = [doc["overall"], *doc["by_tenant"], *doc["by_label"]]
    assert sorted((g["dimension"], g["group"]) for g in groups) == sorted(expected)
    for g in groups:
        want = expected[(g["dimension"], g["group"])]
        got = {k: v for k, v in g.items() if k not in ("dimension", "group")}
        assert got == want, (g["dimension"], g["group"])


def run_cli(*args: str) -> int:
    return main(["report", "sla", *args])


# -- the tests --------------------------------------------------------------------------


def test_cli_report_on_a_run_with_misses_agrees_with_the_store(
    miss_run: MissRun, tmp_path: Path
) -> None:
    url = sqlite_url(miss_run.db_path)
    assert run_cli("--db-url", url, "--label-key", "team", "--out", str(tmp_path)) == 0
    doc = json.loads((tmp_path / "sla-report.json").read_text())
    assert_agrees(doc, recompute(miss_run.db_path, label_key="team"))
    overall = doc["overall"]
    assert (overall["jobs"], overall["failed"], overall["cancelled"], overall["late"]) == (
        6,
        1,
        1,
        1,
    )
    assert overall["attainment_pct"] == "60.00"  # 3 on time of 4 succeeded + 1 failed
    assert overall["preemptions"] >= 1 and overall["spot_cost"] != "0.000000"
    ids = miss_run.ids
    misses = doc["worst_misses"]
    assert [m["job_id"] for m in misses] == [ids["a-fail"], ids["a-late"]]
    assert misses[0]["reason"].startswith("command exited with 3")
    assert misses[1]["reason"].startswith("no setback recorded; ran ")
    assert misses[1]["label"] == "a" and misses[1]["tenant"] == "team-a"
    assert Decimal(misses[1]["lateness_s"]) > 0
    page = check_page((tmp_path / "sla-report.html").read_text())
    assert len(page.svgs) == 6
    assert ids["a-fail"] in page.text and overall["cost"] in page.text
    groups_csv = (tmp_path / "sla-groups.csv").read_text().splitlines()
    assert len(groups_csv) == 1 + 1 + 2 + 3  # header, all, 2 tenants, 3 label values
    assert (tmp_path / "sla-misses.csv").read_text().count("\n") == 1 + 2


def test_cli_report_on_the_short_run_agrees_with_the_store_in_any_range(
    short_run: ShortRun,  # noqa: F811
    tmp_path: Path,
) -> None:
    db_path = Path(short_run.db_url.removeprefix("sqlite:///"))
    assert run_cli("--db-url", short_run.db_url, "--out", str(tmp_path), "--format", "json") == 0
    doc = json.loads((tmp_path / "sla-report.json").read_text())
    assert_agrees(doc, recompute(db_path))
    assert doc["overall"]["jobs"] == sum(len(ids) for ids in short_run.jobs.values())
    assert doc["overall"]["attainment_pct"] == "100.00" and doc["worst_misses"] == []
    assert doc["overall"]["preemptions"] == 1
    assert Decimal(doc["overall"]["savings"]) > 0
    # Half-open ranges split the jobs between them, each agreeing with the store.
    con = sqlite3.connect(db_path)
    finished = sorted(_t(r[0]) for r in con.execute("SELECT finished_at FROM jobs"))
    con.close()
    split = finished[len(finished) // 2]
    assert split is not None
    counts = []
    for name, start, end in (("early", None, split), ("late", split, None)):
        out = tmp_path / name
        args = ["--db-url", short_run.db_url, "--out", str(out), "--format", "json,csv"]
        args += ["--from", start.isoformat()] if start else []
        args += ["--to", end.isoformat()] if end else []
        assert run_cli(*args) == 0
        part = json.loads((out / "sla-report.json").read_text())
        assert_agrees(part, recompute(db_path, start=start, end=end))
        counts.append(part["overall"]["jobs"])
        assert not (out / "sla-report.html").exists()
    assert counts == [len(finished) // 2, len(finished) - len(finished) // 2]


def test_grpc_report_is_the_cli_report_and_its_page_renders(
    miss_run: MissRun, tmp_path: Path
) -> None:
    url = sqlite_url(miss_run.db_path)
    assert run_cli("--db-url", url, "--label-key", "team", "--out", str(tmp_path / "direct")) == 0
    direct = SlaReport.from_json((tmp_path / "direct" / "sla-report.json").read_text())
    with ReportClient(miss_run.service.address) as c:
        report, html = c.sla(label_key="team", html=True)
        only_b, no_html = c.sla(tenant="team-b")
    # The server prices spot on demand from its offerings: the local cloud's price list.
    assert replace(report, price_catalog=direct.price_catalog) == direct
    assert report.price_catalog == "the server's offerings"
    check_page(html)
    assert no_html == "" and only_b.overall.jobs == 3 and only_b.tenant == "team-b"
    assert [g.group for g in only_b.by_tenant] == ["team-b"]
    # The CLI asks the server with --server, and writes what it answered.
    out = tmp_path / "remote"
    args = ["--server", miss_run.service.address, "--label-key", "team", "--out", str(out)]
    assert run_cli(*args) == 0
    assert SlaReport.from_json((out / "sla-report.json").read_text()) == report
    assert (out / "sla-report.html").read_text() == html
    assert (out / "sla-groups.csv").exists() and (out / "sla-misses.csv").exists()


def test_bad_ranges_are_refused_naming_the_field(
    miss_run: MissRun, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = sqlite_url(miss_run.db_path)
    cases = [
        (["--from", "2026-11-02T10:00Z", "--to", "2026-11-02T09:00Z"], "--to"),
        (["--from", "2026-11-02T10:00Z", "--to", "2026-11-02T10:00Z"], "--to"),
        (["--from", "yesterday"], "--from"),
        (["--to", "2026-11-02T10:00"], "--to"),  # no timezone
        (["--format", "pdf"], "--format"),
        (["--worst", "-1"], "--worst"),
    ]
    for args, flag in cases:
        assert run_cli("--db-url", url, "--out", str(tmp_path), *args) == 2, args
        assert f"error: {flag}:" in capsys.readouterr().err
    assert run_cli("--db-url", sqlite_url(tmp_path / "missing.db")) == 2
    assert "--db-url: no store at" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written
    channel = grpc.insecure_channel(miss_run.service.address)
    stub = reports_pb2_grpc.ReportServiceStub(channel)  # type: ignore[no-untyped-call]
    request = pb.SlaReportRequest()
    request.from_time.FromDatetime(datetime(2026, 11, 2, 10, tzinfo=UTC))
    request.to_time.FromDatetime(datetime(2026, 11, 2, 9, tzinfo=UTC))
    for bad, field in ((request, "to_time"), (pb.SlaReportRequest(worst=1001), "worst")):
        with pytest.raises(grpc.RpcError) as e:
            stub.SlaReport(bad, timeout=30)
        assert e.value.code() is grpc.StatusCode.INVALID_ARGUMENT
        assert e.value.details().startswith(f"{field}:")
    channel.close()
