"""``skybatch report sla``: the SLA report as HTML, JSON and CSV files, and a summary.

It reads a store directly (``--db-url``; default the store ``skybatch serve`` uses,
so a simulation's store works the same way) or asks a server (``--server``).
"""

from __future__ import annotations

import argparse
import re
from datetime import UTC, date, datetime
from pathlib import Path

from rich.table import Table
from rich.text import Text

from scheduler.analysis.load import sqlite_path
from scheduler.api.report_client import ReportClient
from scheduler.cli.render import make_console
from scheduler.config import ServeConfig
from scheduler.errors import InvalidArgument
from scheduler.reports import SlaReport, check_range, sla_report
from scheduler.reports.csv import groups_csv, misses_csv
from scheduler.reports.html import duration, money, percent, render
from scheduler.reports.load import read_store
from scheduler.reports.sla import DEFAULT_WORST, MAX_WORST

console = make_console()

FORMATS = ("html", "json", "csv")
HTML_FILE, JSON_FILE = "sla-report.html", "sla-report.json"
GROUPS_CSV, MISSES_CSV = "sla-groups.csv", "sla-misses.csv"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def parse_time(flag: str, text: str | None) -> datetime | None:
    """``YYYY-MM-DD`` (midnight UTC) or an ISO 8601 time with ``Z`` or an offset."""
    if not text:
        return None
    text = text.strip()
    if _DATE.match(text):
        try:
            return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
        except ValueError:
            raise InvalidArgument(flag, f"{text!r} is not a date") from None
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(
            flag, f"{text!r} is not ISO 8601 (e.g. 2026-11-02 or 2026-11-02T10:00Z)"
        ) from None
    if parsed.utcoffset() is None:
        raise InvalidArgument(flag, f"{text!r} needs a timezone (e.g. Z or +01:00)")
    return parsed.astimezone(UTC)


def parse_formats(text: str) -> tuple[str, ...]:
    wanted = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in wanted if f not in FORMATS]
    if unknown or not wanted:
        raise InvalidArgument("--format", f"a comma-separated subset of {','.join(FORMATS)}")
    return wanted


def sla(args: argparse.Namespace) -> int:
    start = parse_time("--from", args.from_time)
    end = parse_time("--to", args.to_time)
    check_range(start, end, "--from", "--to")
    formats = parse_formats(args.format)
    if not 0 <= args.worst <= MAX_WORST:
        raise InvalidArgument("--worst", f"must be 0..{MAX_WORST}")
    tenant = args.tenant or None
    html = ""
    if args.server:
        with ReportClient(args.server) as c:
            report, html = c.sla(
                start=start,
                end=end,
                tenant=args.tenant,
                label_key=args.label_key,
                worst=args.worst,
                html="html" in formats,
            )
    else:
        url = args.db_url or ServeConfig().database_url
        path = sqlite_path(url)
        if path is not None and not path.is_file():
            raise InvalidArgument("--db-url", f"no store at {path}")
        inputs = read_store(url, start=start, end=end, tenant=tenant)
        report = sla_report(
            inputs,
            start=start,
            end=end,
            tenant=tenant,
            label_key=args.label_key or None,
            worst=args.worst,
        )
    written = write(report, args.out, formats, html=html)
    print_summary(report)
    for path in written:
        console.print(f"wrote {path}", highlight=False)
    return 0


def write(report: SlaReport, out: Path, formats: tuple[str, ...], *, html: str = "") -> list[Path]:
    """Write the report in ``formats`` under ``out`` (created); return the paths."""
    out.mkdir(parents=True, exist_ok=True)
    files: list[tuple[str, str]] = []
    if "html" in formats:
        files.append((HTML_FILE, html or render(report)))
    if "json" in formats:
        files.append((JSON_FILE, report.to_json() + "\n"))
    if "csv" in formats:
        files += [(GROUPS_CSV, groups_csv(report)), (MISSES_CSV, misses_csv(report))]
    written = []
    for name, text in files:
        path = out / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
        written.append(path)
    return written


def print_summary(report: SlaReport) -> None:
    o = report.overall
    console.print(
        f"{o.jobs} jobs finished ({o.succeeded} succeeded, {o.failed} failed, "
        f"{o.cancelled} cancelled); deadline attainment {percent(o.attainment_pct)}; "
        f"cost {money(o.cost)}, savings vs all on-demand {money(o.savings)}",
        highlight=False,
        markup=False,
    )
    t = Table()
    for name in ("group", "jobs", "attain.", "late", "p95 late", "cost", "per job", "spot share"):
        t.add_column(name, justify="left" if name == "group" else "right")
    for name in ("preempt.", "savings"):
        t.add_column(name, justify="right")
    for g in report.groups:
        label = g.group if g.dimension == "all" else f"{g.dimension}={g.group}"
        t.add_row(
            Text(label),
            str(g.jobs),
            percent(g.attainment_pct),
            str(g.late),
            duration(g.lateness.p95_s) if g.lateness else "-",
            money(g.cost),
            money(g.cost_per_job),
            percent(g.spot_cost_share_pct),
            str(g.preemptions),
            money(g.savings),
        )
    console.print(t)
    for i, m in enumerate(report.worst_misses[:3], start=1):
        console.print(Text(f"miss {i}: {m.job_id} ({m.tenant}, {m.state.lower()}): {m.reason}"))


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    report = sub.add_parser("report", help="reports over the store: sla")
    rsub = report.add_subparsers(dest="report_command", required=True)
    p = rsub.add_parser(
        "sla",
        help="deadline attainment, lateness, cost and savings of the jobs finished in a range",
    )
    p.add_argument("--from", dest="from_time", default="", help="ISO 8601 (inclusive)")
    p.add_argument("--to", dest="to_time", default="", help="ISO 8601 (exclusive)")
    p.add_argument("--tenant", default="", help="only this tenant's jobs")
    p.add_argument("--label-key", default="", help="also break down by this label's values")
    p.add_argument("--worst", type=int, default=DEFAULT_WORST, help="worst misses listed")
    p.add_argument("--out", type=Path, default=Path("."), help="directory for the files")
    p.add_argument("--format", default=",".join(FORMATS), help="html,json,csv (any of them)")
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--db-url", default="", help="read this store (default: the one `skybatch serve` uses)"
    )
    source.add_argument("--server", default="", help="ask this server (host:port) instead")
    p.set_defaults(func=sla)
