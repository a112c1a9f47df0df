"""Reading a real SQLite store into frames (and a missing one as an empty store)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from scheduler.analysis import attempt_spend, costliest_jobs, load_store
from scheduler.domain import JobSpec, Placement
from scheduler.store import (
    AttemptStore,
    BillingStore,
    CostModelStore,
    Database,
    FileTotals,
    JobStore,
)
from tests.unit.scheduler.analysis.synth import T0

PLACE = Placement(
    "local", "us-central1", "us-central1-a", "e2-standard-2", "spot", Decimal("0.036000")
)


def spec(name: str, **labels: str) -> JobSpec:
    return JobSpec(
        name=name,
        command=("true",),
        estimated_runtime=timedelta(minutes=5),
        deadline=T0 + timedelta(hours=1),
        labels=labels,
    )


def fill(db: Database) -> tuple[str, str]:
    [(a, _)] = JobStore(db).submit("alice", [spec("a", team="x", tier="gold")], T0)
    [(b, _)] = JobStore(db).submit("bob", [spec("b")], T0)
    attempts = AttemptStore(db)
    assert attempts.plan(a.id, PLACE.offering_id, T0)
    att = attempts.start_attempt(a.id, PLACE, T0)
    assert att is not None
    attempts.attempt_launched(
        att.id, node_id="n-1", region=PLACE.region, instance_type=PLACE.instance_type, now=T0
    )
    attempts.finish(att.id, 0, False, "", T0 + timedelta(minutes=30))
    billing = BillingStore(db)
    billing.begin_file(
        sha256="f" * 64,
        name="bill.csv",
        format="focus",
        source="test",
        now=T0,
    )
    billing.add_lines(
        {
            "key": ["line-1"],
            "file_sha256": ["f" * 64],
            "source_row": [1],
            "provider": ["local cloud"],
            "billing_account": ["acct"],
            "charge_category": ["Usage"],
            "charge_period_start": [T0],
            "charge_period_end": [T0 + timedelta(hours=1)],
            "region": ["us-central1"],
            "pricing_unit": ["Hours"],
            "pricing_quantity": [0.5],
            "currency": ["USD"],
            "billed_cost": ["0.0165000000001"],
            "effective_cost": ["0.0165000000001"],
            "list_cost": ["0.018"],
            "tags_json": ["{}"],
            "attempt_id": [att.id],
        }
    )
    billing.complete_file(
        "f" * 64,
        totals=FileTotals(1, 1, "USD", Decimal("0.0165000000001"), T0, T0 + timedelta(hours=1)),
        now=T0,
    )
    models = CostModelStore(db)
    for trigger in ("billing", "manual"):
        models.save(params={"schema": 1}, accuracy={}, inputs={}, trigger=trigger, now=T0)
    return a.id, b.id


def test_a_store_reads_into_frames(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'store.db'}"
    db = Database(url)
    a, b = fill(db)
    db.close()

    frames = load_store(url)
    assert frames.exists and frames.url == url
    assert sorted(frames.jobs["job_id"]) == sorted([a, b])
    assert frames.labels.to_dict("records") == [
        {"job_id": a, "key": "team", "value": "x"},
        {"job_id": a, "key": "tier", "value": "gold"},
    ]
    assert [m.trigger for m in frames.models] == ["billing", "manual"]
    assert frames.lines["BilledCost"].tolist() == [Decimal("0.0165000000001")]
    spend = attempt_spend(frames.attempts, frames.jobs, frames.labels)
    assert spend["cost"].tolist() == [Decimal("0.018000")]
    assert spend["tenant"].tolist() == ["alice"]
    top = costliest_jobs(frames.jobs, frames.attempts, frames.labels, frames.lines, n=1)
    assert top["job_id"].tolist() == [a]
    assert top["billed"].tolist() == [Decimal("0.0165000000001")]


def test_a_missing_store_reads_empty_and_is_not_created(tmp_path: Path) -> None:
    path = tmp_path / "nowhere" / "skybatch.db"
    frames = load_store(f"sqlite:///{path}")
    assert not frames.exists
    assert frames.attempts.empty and frames.jobs.empty and frames.lines.empty
    assert frames.labels.empty and frames.models == ()
    assert list(frames.attempts.columns)[:2] == ["attempt_id", "job_id"]
    assert not path.parent.exists()
