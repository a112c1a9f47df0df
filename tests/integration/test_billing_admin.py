"""Billing ingest and cost models through a real server: the CLI and the gRPC admin calls.

Bills are real files: the FOCUS 1.0 sample (CC-BY-4.0, tests/data/billing), FOCUS 1.2
rows written by the local cloud's billing code for nodes the store knows, and AWS CUR
files from the benchmark's generator.
"""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import grpc
import pytest
from sqlalchemy import func, select

from adapters.base import ATTEMPT_TAG
from adapters.local.billing import LocalBilling, PriceRule, bill_csv, focus_rows
from adapters.local.state import TERMINATED, NodeRecord
from benchmarks.billing.generate import write_cur
from scheduler.api.admin_client import AdminClient
from scheduler.api.gen.skybatch.v1 import admin_pb2 as pb
from scheduler.api.gen.skybatch.v1 import admin_pb2_grpc
from scheduler.cli.main import main
from scheduler.domain import JobSpec, Placement
from scheduler.service import Service
from scheduler.store import AttemptStore, JobStore
from scheduler.store.tables import BillingFileRow, BillingLineRow

SAMPLE = Path(__file__).parents[1] / "data" / "billing" / "focus_1.0_sample.csv"
T0 = datetime(2026, 11, 2, 10, 15, tzinfo=UTC)
PLACE = Placement(
    "local", "europe-west4", "europe-west4-a", "n2-standard-2", "on-demand", Decimal("0.097118")
)
DISCOUNT = LocalBilling(
    price_rules=(PriceRule("europe-west4", "n2-*", "on-demand", Decimal("0.7")),)
)


def launched_attempts(svc: Service, n: int) -> list[tuple[str, str]]:
    """``n`` jobs, each with an attempt launched on a node: [(attempt id, node id)]."""
    store = AttemptStore(svc.db)
    out = []
    for i in range(n):
        spec = JobSpec(
            name=f"j{i}",
            command=("true",),
            estimated_runtime=timedelta(hours=1),
            deadline=T0 + timedelta(days=1),
        )
        [(job, _)] = JobStore(svc.db).submit("default", [spec], T0)
        assert store.plan(job.id, PLACE.offering_id, T0)
        att = store.start_attempt(job.id, PLACE, T0)
        assert att is not None
        node_id = f"ln-node{i:07d}"
        store.attempt_launched(
            att.id, node_id=node_id, region=PLACE.region, instance_type=PLACE.instance_type, now=T0
        )
        out.append((att.id, node_id))
    return out


def node(node_id: str, attempt_id: str, *, hours: float, tagged: bool = True) -> NodeRecord:
    end = T0 + timedelta(hours=hours)
    return NodeRecord(
        node_id=node_id,
        name="worker",
        client_token=attempt_id,
        region=PLACE.region,
        zone=PLACE.zone,
        instance_type=PLACE.instance_type,
        market=PLACE.market,
        vcpus=2.0,
        memory_gib=8.0,
        price_per_hour=PLACE.price_per_hour,
        tags={ATTEMPT_TAG: attempt_id} if tagged else {},
        status=TERMINATED,
        created_at=T0,
        launcher_pid=1,
        launcher_start_time=None,
        started_at=T0,
        terminated_at=end,
    )


def write_bill(path: Path, records: list[NodeRecord]) -> list[dict[str, str | None]]:
    rows = focus_rows(records, until=T0 + timedelta(days=1), billing=DISCOUNT)
    path.write_text(bill_csv(rows), encoding="utf-8")
    return rows


def counts(svc: Service) -> tuple[int, int]:
    with svc.db.read() as s:
        files = s.execute(select(func.count()).select_from(BillingFileRow)).scalar_one()
        lines = s.execute(select(func.count()).select_from(BillingLineRow)).scalar_one()
    return files, lines


@pytest.fixture
def admin(api_service: Service) -> AdminClient:
    c = AdminClient(api_service.address)
    c.wait_ready()
    return c


def test_ingest_matches_our_attempts_by_tag_and_by_resource_id_and_is_idempotent(
    api_service: Service, admin: AdminClient, tmp_path: Path
) -> None:
    (a1, n1), (a2, n2), (a3, n3) = launched_attempts(api_service, 3)
    stranger = replace(node("ln-stranger", "a-not-ours", hours=1), tags={"team": "x"})
    bill = tmp_path / "focus-2026-11.csv"
    # n1 carries the attempt tag; n2's tags were lost, so only its resource id matches.
    rows = write_bill(
        bill, [node(n1, a1, hours=2.5), node(n2, a2, hours=1, tagged=False), stranger]
    )
    assert len(rows) == 3 + 2 + 2  # 10:15-12:45 spans 3 clock hours, 10:15-11:15 two
    report = admin.ingest_billing(bill)
    assert (report.format, report.rows, report.added, report.matched) == ("FOCUS 1.2", 7, 7, 5)
    expected = sum((Decimal(r["BilledCost"] or "") for r in rows), Decimal(0))
    assert report.billed_cost == expected  # exact, every digit
    ours = [r for r in rows if r["ResourceId"] != "ln-stranger"]
    assert report.matched_cost == sum((Decimal(r["BilledCost"] or "") for r in ours), Decimal(0))
    assert [(name, n) for name, n, _ in report.unmatched] == [
        ("skybatch local cloud / Local Compute Engine", 2)
    ]
    lines = api_service.billing.lines_frame()
    assert set(lines["attempt_id"].dropna()) == {a1, a2}
    assert set(lines.loc[lines["resource_id"] == n2, "attempt_id"]) == {a2}

    # The same file again: nothing added. A later export repeats the lines it shares
    # with this one: only the new node's lines are added.
    again = admin.ingest_billing(bill)
    assert again.already_ingested and again.added == 0
    later = tmp_path / "focus-2026-11-b.csv"
    write_bill(later, [node(n1, a1, hours=2.5), stranger, node(n3, a3, hours=0.5)])
    more = admin.ingest_billing(later)
    assert (more.rows, more.added, more.matched) == (6, 1, 1)
    assert counts(api_service) == (2, 8)


def test_the_cli_ingests_the_real_focus_sample_with_progress_and_a_report(
    api_service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["billing", "ingest", str(SAMPLE), "--server", api_service.address])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "FOCUS 1.0, 1,000 rows" in out
    assert "1,000 new line items stored" in out
    assert "0 matched to our attempts" in out
    assert "AWS / Amazon Elastic Compute Cloud" in out  # the biggest unmatched group
    assert counts(api_service) == (1, 1000)
    code = main(["billing", "ingest", str(SAMPLE), "--server", api_service.address])
    assert code == 0 and "already ingested" in capsys.readouterr().out
    assert counts(api_service) == (1, 1000)


def corrupt(tmp_path: Path, name: str, column: str, data_row: int, value: str) -> Path:
    """A copy of the sample with one cell changed (``data_row`` counts from 1)."""
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    rows[data_row][rows[0].index(column)] = value
    out = tmp_path / name
    with out.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f, quoting=csv.QUOTE_MINIMAL).writerows(rows)
    return out


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("BilledCost", "12,5", "BilledCost"),
        ("ChargePeriodStart", "yesterday", "ChargePeriodStart"),
        ("BillingCurrency", "EUR", "BillingCurrency"),
        ("BillingCurrency", "XQQ", "BillingCurrency"),
    ],
)
def test_a_bad_file_is_refused_naming_column_and_row_and_nothing_is_stored(
    api_service: Service,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    column: str,
    value: str,
    message: str,
) -> None:
    # Data row 700 is line 701 of the file (the header is line 1).
    bad = corrupt(tmp_path, "bad.csv", column, 700, value)
    code = main(["billing", "ingest", str(bad), "--server", api_service.address, "--quiet"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert message in err and "701" in err, err
    assert "nothing of this file was stored" in err
    assert counts(api_service) == (0, 0)


def test_a_file_missing_mandatory_columns_is_refused_with_their_names(
    api_service: Service, admin: AdminClient, tmp_path: Path
) -> None:
    with SAMPLE.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    drop = {rows[0].index("BilledCost"), rows[0].index("ChargePeriodEnd")}
    bad = tmp_path / "cut.csv"
    with bad.open("w", newline="", encoding="utf-8") as f:
        csv.writer(f).writerows([[v for i, v in enumerate(r) if i not in drop] for r in rows])
    with pytest.raises(grpc.RpcError) as err:
        admin.ingest_billing(bad)
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "BilledCost" in err.value.details() and "ChargePeriodEnd" in err.value.details()
    assert counts(api_service) == (0, 0)


def test_a_file_that_is_not_a_bill_is_refused_and_a_missing_file_is_exit_2(
    api_service: Service, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    junk = tmp_path / "notes.csv"
    junk.write_text("hello,world\n1,2\n")
    assert main(["billing", "ingest", str(junk), "--server", api_service.address]) == 2
    assert "notes.csv" in capsys.readouterr().err
    missing = tmp_path / "nope.csv"
    assert main(["billing", "ingest", str(missing), "--server", api_service.address]) == 2
    assert "nope.csv: no such file" in capsys.readouterr().err
    assert counts(api_service) == (0, 0)


def test_an_aws_cur_file_is_ingested_under_focus_names(
    api_service: Service, admin: AdminClient, tmp_path: Path
) -> None:
    path = tmp_path / "cur.csv"
    written = write_cur(path, 500, seed=3)
    report = admin.ingest_billing(path)
    assert (report.format, report.rows, report.added) == ("AWS CUR", 500, 500)
    assert report.billed_cost == written.billed_cost
    lines = api_service.billing.lines_frame()
    assert set(lines["provider"]) == {"AWS"}


def test_cost_models_refit_show_list_and_diff(
    api_service: Service, admin: AdminClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    server = ["--server", api_service.address]
    assert main(["costmodel", "show", *server]) == 1
    assert "no cost model yet" in capsys.readouterr().err

    attempts = launched_attempts(api_service, 3)
    store = AttemptStore(api_service.db)
    for i, (att, _) in enumerate(attempts):
        assert store.heartbeat(att, 0.5, T0 + timedelta(minutes=1))
        store.finish(att, 0, False, "", T0 + timedelta(hours=1 + i))
    assert main(["costmodel", "refit", *server]) == 0
    assert "fitted cost model version 1" in capsys.readouterr().out

    bill = tmp_path / "bill.csv"
    write_bill(bill, [node(n, a, hours=1 + i) for i, (a, n) in enumerate(attempts)])
    admin.ingest_billing(bill)
    v2 = admin.refit()
    assert v2.version == 2 and v2.trigger == "manual"
    family = {p["key"]: p for p in v2.params["prices"] if p["level"] == "family"}
    discounted = family["local/europe-west4/n2/on-demand"]
    assert discounted["observed"] == pytest.approx(0.7, abs=0.001)
    assert 0.7 < discounted["ratio"] < 1.0  # 6 hours of evidence: shrunk toward list

    assert main(["costmodel", "show", "2", "--json", *server]) == 0
    assert '"local/europe-west4/n2/on-demand"' in capsys.readouterr().out
    assert main(["costmodel", "list", *server]) == 0
    listing = capsys.readouterr().out
    assert "manual" in listing and "2" in listing
    assert main(["costmodel", "diff", "1", *server]) == 0
    diff = capsys.readouterr().out
    assert "cost model 1 -> 2" in diff and "local/europe-west4/n2/on-demand" in diff
    _, _, changes = admin.diff(1, 2)
    assert any(c.key.endswith("local/europe-west4/n2/on-demand") for c in changes)
    assert main(["costmodel", "diff", "7", *server]) == 1
    assert "no cost model version 7" in capsys.readouterr().err


def test_an_upload_cut_short_is_refused(api_service: Service, tmp_path: Path) -> None:
    copy = tmp_path / "sample.csv"
    shutil.copy(SAMPLE, copy)
    with grpc.insecure_channel(api_service.address) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)  # type: ignore[no-untyped-call]
        header = pb.BillingFileHeader(name="sample.csv", size_bytes=copy.stat().st_size)
        data = copy.read_bytes()[:1000]
        chunks = [pb.IngestBillingChunk(header=header), pb.IngestBillingChunk(data=data)]
        with pytest.raises(grpc.RpcError) as err:
            list(stub.IngestBilling(iter(chunks)))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "received 1000 bytes" in err.value.details()
    assert counts(api_service) == (0, 0)
    assert not list((api_service.config.billing_dir).glob("upload-*"))  # spool removed
