"""How fast and how lean a big bill is read: one million FOCUS rows, checked then streamed.

    .venv/bin/python -m benchmarks.billing.read_bench [--rows 1000000] [--format focus|cur]
        [--suffix .csv|.csv.gz|.parquet] [--chunk-rows 200000] [--seed 0] [--markdown]

Generates a bill with :mod:`benchmarks.billing.generate` in a temporary directory (in a
child process, so the generator's memory does not count), then in this process reads it
the way an ingest does: :func:`~adapters.billing.summarize_bill` (one pass, every row
checked, nothing kept), then :func:`~adapters.billing.iter_bill` (a second pass, frames
of ``--chunk-rows`` rows, each dropped once counted). Peak RSS is
``resource.getrusage(RUSAGE_SELF).ru_maxrss`` after each pass (a high-water mark, so the
second figure covers both). Targets: both passes in well under 60 s, under 2 GiB.
Both passes are checked against the generator's exact totals. Prints a table and
writes ``read_results.json`` next to this file.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from adapters.billing import iter_bill, summarize_bill
from benchmarks.machine import machine

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MAX_SECONDS = 60.0
MAX_RSS_MIB = 2048.0


def peak_rss_mib() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    scale = 1 if sys.platform == "darwin" else 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * scale / 2**20


def generate(path: Path, rows: int, kind: str, seed: int) -> dict[str, Any]:
    """Write the bill in a child process; its totals come back as JSON."""
    code = (
        "import json, sys; from benchmarks.billing import generate as g; "
        f"b = g.write_{kind}(sys.argv[1], {rows}, seed={seed}); "
        "print(json.dumps({'billed': str(b.billed_cost), 'effective': str(b.effective_cost)}))"
    )
    started = time.perf_counter()
    command = [sys.executable, "-c", code, str(path)]
    out = subprocess.run(command, cwd=REPO, check=True, capture_output=True, text=True)
    totals: dict[str, Any] = json.loads(out.stdout)
    totals["seconds"] = time.perf_counter() - started
    return totals


def run(rows: int, kind: str, suffix: str, chunk_rows: int, seed: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="skybatch-bill-") as tmp:
        path = Path(tmp) / f"bill{suffix}"
        print(f"generating {rows:,} {kind} rows -> {path.name} ...", file=sys.stderr)
        expected = generate(path, rows, kind, seed)
        size = path.stat().st_size
        rss_before = peak_rss_mib()

        print("summarize_bill ...", file=sys.stderr)
        started = time.perf_counter()
        summary = summarize_bill(path, chunk_rows=chunk_rows)
        summarize_s = time.perf_counter() - started
        rss_summarize = peak_rss_mib()

        print("iter_bill ...", file=sys.stderr)
        started = time.perf_counter()
        seen = 0
        billed = Decimal(0)
        for frame in iter_bill(path, chunk_rows=chunk_rows):
            seen += len(frame)
            billed += sum(frame["BilledCost"], Decimal(0))
            del frame
        iter_s = time.perf_counter() - started
        rss_iter = peak_rss_mib()

    exact = (
        summary.rows == rows == seen
        and str(summary.billed_cost) == expected["billed"] == str(billed)
        and str(summary.effective_cost) == expected["effective"]
    )
    total_s = summarize_s + iter_s
    return {
        "rows": rows,
        "format": str(summary.format),
        "file": suffix,
        "file_mib": round(size / 2**20, 1),
        "chunk_rows": chunk_rows,
        "generate_s": round(expected["seconds"], 2),
        "summarize_s": round(summarize_s, 2),
        "iter_s": round(iter_s, 2),
        "total_s": round(total_s, 2),
        "summarize_rows_per_s": round(rows / summarize_s),
        "iter_rows_per_s": round(rows / iter_s),
        "rss_after_import_mib": round(rss_before, 1),
        "rss_peak_summarize_mib": round(rss_summarize, 1),
        "rss_peak_both_mib": round(rss_iter, 1),
        "billed_cost": str(summary.billed_cost),
        "totals_exact": exact,
        "pass": exact and total_s < MAX_SECONDS and rss_iter < MAX_RSS_MIB,
    }


def print_table(result: dict[str, Any], markdown: bool) -> None:
    title = (
        f"{result['rows']:,} rows, {result['format']} {result['file']} "
        f"({result['file_mib']:,} MiB), chunks of {result['chunk_rows']:,}"
    )
    header = ["pass", "seconds", "rows/s", "peak RSS MiB"]
    body = [
        [
            "summarize_bill",
            f"{result['summarize_s']:.1f}",
            f"{result['summarize_rows_per_s']:,}",
            f"{result['rss_peak_summarize_mib']:,.0f}",
        ],
        [
            "iter_bill",
            f"{result['iter_s']:.1f}",
            f"{result['iter_rows_per_s']:,}",
            f"{result['rss_peak_both_mib']:,.0f}",
        ],
        [
            "both",
            f"{result['total_s']:.1f}",
            f"{round(2 * result['rows'] / result['total_s']):,}",
            f"{result['rss_peak_both_mib']:,.0f}",
        ],
    ]
    verdict = (
        f"totals exact: {'yes' if result['totals_exact'] else 'NO'}; "
        f"target (both passes < {MAX_SECONDS:.0f} s, < {MAX_RSS_MIB:,.0f} MiB): "
        f"{'PASS' if result['pass'] else 'MISS'}"
    )
    show_table(title, header, body, verdict, markdown=markdown)


def show_table(
    title: str, header: list[str], body: list[list[str]], verdict: str, *, markdown: bool
) -> None:
    """A table (first column left-aligned, the others right) and a verdict line, as
    Markdown or through rich."""
    if markdown:
        print(f"**{title}**\n")
        print("| " + " | ".join(header) + " |")
        print("|---|" + "---:|" * (len(header) - 1))
        for line in body:
            print("| " + " | ".join(line) + " |")
        print(f"\n{verdict}")
        return
    table = Table(title=title)
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for line in body:
        table.add_row(*line)
    console = Console()
    console.print(table)
    console.print(verdict)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", choices=("focus", "cur"), default="focus")
    parser.add_argument("--suffix", choices=(".csv", ".csv.gz", ".parquet"), default=".csv")
    parser.add_argument("--chunk-rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--markdown", action="store_true")
    parser.add_argument("--out", type=Path, default=HERE / "read_results.json")
    args = parser.parse_args(argv)
    result = run(args.rows, args.format, args.suffix, args.chunk_rows, args.seed)
    print_table(result, args.markdown)
    args.out.write_text(
        json.dumps({"machine": machine("pandas", "pyarrow", "numpy"), "result": result}, indent=2)
        + "\n"
    )
    print(f"wrote {args.out}", file=sys.stderr)


if __name__ == "__main__":
    main()
