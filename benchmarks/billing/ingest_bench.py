"""Ingest one million FOCUS rows into the store: validate, match, store; time and memory.

    .venv/bin/python -m benchmarks.billing.ingest_bench [--rows 1000000] [--format focus|cur]
        [--suffix .csv|.csv.gz|.parquet] [--attempts 20000] [--seed 0] [--markdown]

The issue's target: a 1,000,000-row FOCUS file ingested in under 60 s and under 2 GiB
on this machine. A bill is generated (:mod:`benchmarks.billing.generate`, in a child
process so its memory does not count) into a temporary directory, next to a fresh
SQLite store (WAL, on disk) that already holds ``--attempts`` attempts, so that the
generator's ``skybatch-attempt`` tags match some of them. Then, in this process, the
whole path the server runs: :func:`scheduler.billing.ingest_file` (hash, validate every
row, match, store in chunks, report), timed per phase with its progress callback. Then
the same file again, which must add nothing. Peak RSS is the process's high-water mark.
Prints a table and writes ``ingest_results.json`` next to this file.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, insert, select

from benchmarks.billing.read_bench import (
    MAX_RSS_MIB,
    MAX_SECONDS,
    generate,
    machine,
    peak_rss_mib,
    show_table,
)
from scheduler.billing import ingest_file
from scheduler.store import BillingStore, Database
from scheduler.store.tables import AttemptRow, BillingLineRow

HERE = Path(__file__).resolve().parent
T0 = datetime(2026, 11, 1, tzinfo=UTC)


def seed_attempts(db: Database, n: int) -> None:
    """``n`` ended attempts named like the generator's tags (``att-0000000`` ...)."""
    rows = [
        {
            "id": f"att-{i:07d}",
            "job_id": f"j-{i:07d}",
            "number": 1,
            "cloud": "aws",
            "region": "us-east-1",
            "zone": "us-east-1a",
            "instance_type": "m5.large",
            "market": "on-demand",
            "price_micros_per_hour": 96_000,
            "state": "SUCCEEDED",
            "node_id": "",
            "created_at": T0,
            "preempted": False,
            "progress": 1.0,
            "end_reason": "",
            "cost_micros": 0,
            "start_progress": 0.0,
        }
        for i in range(n)
    ]
    with db.write() as s:
        s.connection().execute(insert(AttemptRow.__table__), rows)  # type: ignore[attr-defined]


def run(rows: int, kind: str, suffix: str, attempts: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="skybatch-ingest-") as tmp:
        path = Path(tmp) / f"bill{suffix}"
        print(f"generating {rows:,} {kind} rows -> {path.name} ...", file=sys.stderr)
        expected = generate(path, rows, kind, seed)
        db = Database(f"sqlite:///{Path(tmp) / 'skybatch.db'}")
        seed_attempts(db, attempts)
        store = BillingStore(db)
        rss_before = peak_rss_mib()
        marks: dict[str, float] = {}

        def progress(done: int, total: int) -> None:
            marks.setdefault("first_chunk", time.perf_counter())
            if done % 200_000 == 0 or done == total:
                print(f"  stored {done:,}/{total:,}", file=sys.stderr)

        print("ingest ...", file=sys.stderr)
        started = time.perf_counter()
        report = ingest_file(
            store, path, now=datetime.now(UTC), source="benchmark", progress=progress
        )
        ingest_s = time.perf_counter() - started
        rss_ingest = peak_rss_mib()

        print("ingest the same file again ...", file=sys.stderr)
        started = time.perf_counter()
        again = ingest_file(store, path, now=datetime.now(UTC), source="benchmark")
        again_s = time.perf_counter() - started
        with db.read() as s:
            stored = s.execute(select(func.count()).select_from(BillingLineRow)).scalar_one()
        db_mib = sum(p.stat().st_size for p in Path(tmp).glob("skybatch.db*")) / 2**20
        db.close()

    exact = str(report.billed_cost) == expected["billed"] and report.rows == rows == stored
    return {
        "rows": rows,
        "format": report.format,
        "file": suffix,
        "attempts_in_store": attempts,
        "ingest_s": round(ingest_s, 2),
        "ingest_rows_per_s": round(rows / ingest_s),
        "rss_before_mib": round(rss_before, 1),
        "rss_peak_mib": round(rss_ingest, 1),
        "added": report.added,
        "matched": report.matched,
        "matched_cost": str(report.matched_cost),
        "billed_cost": str(report.billed_cost),
        "totals_exact": exact,
        "again_s": round(again_s, 2),
        "again_added": again.added,
        "db_mib": round(db_mib, 1),
        "pass": exact and again.added == 0 and ingest_s < MAX_SECONDS and rss_ingest < MAX_RSS_MIB,
    }


def print_table(r: dict[str, Any], markdown: bool) -> None:
    title = (
        f"ingest {r['rows']:,} rows of {r['format']} {r['file']} into SQLite "
        f"({r['attempts_in_store']:,} attempts to match)"
    )
    body = [
        [
            "ingest (validate + match + store)",
            f"{r['ingest_s']:.1f}",
            f"{r['ingest_rows_per_s']:,}",
            f"{r['rss_peak_mib']:,.0f}",
        ],
        ["the same file again", f"{r['again_s']:.2f}", "-", "-"],
    ]
    verdict = (
        f"stored {r['added']:,} lines ({r['matched']:,} matched to attempts, "
        f"${r['matched_cost']}); again: {r['again_added']} added; "
        f"totals exact: {'yes' if r['totals_exact'] else 'NO'}; store {r['db_mib']:,} MiB; "
        f"target (< {MAX_SECONDS:.0f} s, < {MAX_RSS_MIB:,.0f} MiB): "
        f"{'PASS' if r['pass'] else 'MISS'}"
    )
    header = ["step", "seconds", "rows/s", "peak RSS MiB"]
    show_table(title, header, body, verdict, markdown=markdown)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("focus", "cur"), default="focus")
    parser.add_argument("--suffix", choices=(".csv", ".csv.gz", ".parquet"), default=".csv")
    parser.add_argument("--attempts", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "ingest_results.json")
    args = parser.parse_args(argv)
    result = run(args.rows, args.format, args.suffix, args.attempts, args.seed)
    print_table(result, args.markdown)
    args.out.write_text(json.dumps({"machine": machine(), "result": result}, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
