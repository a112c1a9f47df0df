"""``skybatch billing ingest`` and ``skybatch costmodel show | list | refit | diff``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import grpc
from rich.progress import (
    BarColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from scheduler.api.admin_client import AdminClient
from scheduler.billing import IngestReport
from scheduler.cli.commands import common, server_address, tenant
from scheduler.cli.render import make_console
from scheduler.domain import CostModelVersion
from scheduler.errors import InvalidArgument

console = make_console()
err = make_console(stderr=True)


def admin_client(args: argparse.Namespace) -> AdminClient:
    return AdminClient(server_address(args), tenant=tenant(args))


# -- billing ---------------------------------------------------------------------------


def ingest(args: argparse.Namespace) -> int:
    paths: list[Path] = args.files
    for path in paths:
        if not path.is_file():
            raise InvalidArgument("FILE", f"{path}: no such file")
    refused = 0
    with admin_client(args) as c:
        for path in paths:
            try:
                report = _ingest_one(c, path, quiet=args.quiet)
            except grpc.RpcError as exc:
                if not isinstance(exc, grpc.Call) or exc.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    raise
                err.print(f"[bold red]refused[/] {path}: {exc.details()}")
                err.print("  nothing of this file was stored")
                refused += 1
                continue
            _print_report(report)
    return 2 if refused else 0


def _ingest_one(c: AdminClient, path: Path, *, quiet: bool) -> IngestReport:
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:,.0f}"),
        TaskProgressColumn(),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=err, transient=True, disable=quiet) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(phase: str, done: int, total: int) -> None:
            if phase not in tasks:
                label = {"uploading": "bytes sent", "storing": "rows stored"}.get(phase, phase)
                tasks[phase] = bar.add_task(f"{path.name}: {label}", total=total or None)
            bar.update(tasks[phase], completed=done, total=total or None)

        return c.ingest_billing(path, progress=progress)


def _print_report(r: IngestReport) -> None:
    if r.already_ingested:
        console.print(f"{r.name}: already ingested ({r.rows:,} rows); nothing added")
        return
    period = ""
    if r.period_start and r.period_end:
        period = f", {r.period_start:%Y-%m-%d %H:%M} to {r.period_end:%Y-%m-%d %H:%M} UTC"
    console.print(
        f"{r.name}: {r.format}, {r.rows:,} rows{period}, billed ${r.billed_cost}\n"
        f"  {r.added:,} new line items stored ({r.rows - r.added:,} already known)\n"
        f"  {r.matched:,} matched to our attempts (${r.matched_cost});"
        f" {r.unmatched_rows:,} not ours or not matched"
    )
    if r.unmatched:
        t = Table(title="not matched to any attempt (biggest first)", title_justify="left")
        for name in ("provider / service", "lines", "billed $"):
            t.add_column(name, justify="right" if name != "provider / service" else "left")
        for name, n, cost in r.unmatched:
            t.add_row(name, f"{n:,}", f"{cost:.6f}")
        console.print(t)


# -- cost models -----------------------------------------------------------------------


def show(args: argparse.Namespace) -> int:
    with admin_client(args) as c:
        model = c.cost_model(args.version)
    if args.json:
        console.print_json(json.dumps(_as_json(model)))
        return 0
    _print_model(model, top=args.top)
    return 0


def list_models(args: argparse.Namespace) -> int:
    with admin_client(args) as c:
        models = c.cost_models(args.limit)
    t = Table()
    for name in ("version", "created (UTC)", "trigger", "attempts", "billed lines", "MAPE"):
        t.add_column(name)
    for m in models:
        t.add_row(
            str(m.version),
            f"{m.created_at:%Y-%m-%d %H:%M:%S}",
            m.trigger,
            str(m.inputs.get("attempts", "")),
            str(m.inputs.get("billing_lines", "")),
            _pct(_get(m.accuracy, "cost", "fitted", "mape")),
        )
    console.print(t)
    return 0


def refit(args: argparse.Namespace) -> int:
    with admin_client(args) as c:
        model = c.refit()
    console.print(f"fitted cost model version {model.version}")
    _print_model(model, top=args.top)
    return 0


def diff(args: argparse.Namespace) -> int:
    with admin_client(args) as c:
        old, new, changes = c.diff(args.from_version, args.to_version)
    if not changes:
        console.print(f"versions {old} and {new}: no parameter changed")
        return 0
    t = Table(title=f"cost model {old} -> {new}", title_justify="left")
    for name in ("parameter", f"v{old}", f"v{new}", "change"):
        t.add_column(name, justify="left" if name == "parameter" else "right")
    for ch in changes:
        rel = ""
        if ch.old is not None and ch.new is not None and ch.old:
            rel = f"{(ch.new - ch.old) / abs(ch.old):+.1%}"
        t.add_row(
            ch.key,
            "-" if ch.old is None else f"{ch.old:.6g}",
            "-" if ch.new is None else f"{ch.new:.6g}",
            rel or ("added" if ch.old is None else "removed" if ch.new is None else ""),
        )
    console.print(t)
    return 0


def _as_json(m: CostModelVersion) -> dict[str, Any]:
    return {
        "version": m.version,
        "created_at": m.created_at.isoformat(),
        "trigger": m.trigger,
        "inputs": m.inputs,
        "accuracy": m.accuracy,
        "params": m.params,
    }


def _get(doc: dict[str, Any], *path: str) -> Any:
    for key in path:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(key)  # type: ignore[assignment]
    return doc


def _pct(value: Any) -> str:
    return f"{value:.2%}" if isinstance(value, int | float) else "-"


def _print_model(m: CostModelVersion, *, top: int) -> None:
    console.print(
        f"cost model [bold]v{m.version}[/] fitted {m.created_at:%Y-%m-%d %H:%M:%S} UTC"
        f" ({m.trigger}) from {json.dumps(m.inputs, sort_keys=True)}"
    )
    cost = _get(m.accuracy, "cost")
    if isinstance(cost, dict):
        t = Table(title="cost per attempt on held-back data", title_justify="left")
        for name in ("model", "attempts", "MAPE", "bias"):
            t.add_column(name)
        for label in ("catalog", "fitted"):
            part = cost.get(label) or {}
            t.add_row(
                label, str(cost.get("attempts", "")), _pct(part.get("mape")), _pct(part.get("bias"))
            )
        console.print(t)
    params = m.params
    prices = [p for p in params.get("prices", []) if p.get("level") != "offering"]
    if prices:
        t = Table(title="effective / list price", title_justify="left")
        for name in ("level", "key", "hours", "observed", "used"):
            t.add_column(name)
        for p in sorted(prices, key=lambda p: -float(p["hours"]))[:top]:
            t.add_row(
                p["level"],
                p["key"],
                f"{p['hours']:.2f}",
                f"{p['observed']:.4f}",
                f"{p['ratio']:.4f}",
            )
        console.print(t)
    hazards = params.get("hazards", [])
    if hazards:
        t = Table(title="spot preemptions per node-hour", title_justify="left")
        for name in ("cloud/region/family", "events", "node-hours", "prior", "used"):
            t.add_column(name)
        for h in sorted(hazards, key=lambda h: -float(h["exposure_hours"]))[:top]:
            t.add_row(
                h["key"],
                str(h["events"]),
                f"{h['exposure_hours']:.2f}",
                f"{h['prior']:.4g}",
                f"{h['posterior']:.4g}",
            )
        console.print(t)
    runtimes = params.get("runtimes", [])
    if runtimes:
        t = Table(title="runtime actual / estimate", title_justify="left")
        for name in ("class", "jobs", "p50", "p90", "factor used"):
            t.add_column(name)
        for r in sorted(runtimes, key=lambda r: -int(r["n"]))[:top]:
            t.add_row(
                r["class_key"][:60],
                str(r["n"]),
                f"{r['p50']:.3f}",
                f"{r['p90']:.3f}",
                f"{r['factor']:.3f}",
            )
        console.print(t)
    delays = params.get("launch_delays", [])
    if delays:
        t = Table(title="launch delay (s)", title_justify="left")
        for name in ("cloud/region", "launches", "median", "prior", "used"):
            t.add_column(name)
        for d in delays[:top]:
            t.add_row(
                d["key"],
                str(d["n"]),
                f"{d['median_s']:.1f}",
                f"{d['prior_s']:.1f}",
                f"{d['posterior_s']:.1f}",
            )
        console.print(t)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    billing = sub.add_parser("billing", help="billing data: ingest FOCUS or AWS CUR files")
    bsub = billing.add_subparsers(dest="billing_command", required=True)
    p = bsub.add_parser(
        "ingest",
        help="ingest FOCUS 1.0-1.2 (CSV, CSV.gz, Parquet) or AWS CUR files (idempotent)",
    )
    p.add_argument("files", nargs="+", type=Path, metavar="FILE")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    common(p)
    p.set_defaults(func=ingest)

    cm = sub.add_parser("costmodel", help="the fitted cost model: show, list, refit, diff")
    csub = cm.add_subparsers(dest="costmodel_command", required=True)
    p = csub.add_parser("show", help="a cost-model version (default: the one in use)")
    p.add_argument("version", nargs="?", type=int, default=0)
    p.add_argument("--json", action="store_true", help="the whole version as JSON")
    p.add_argument("--top", type=int, default=10, help="rows per table")
    common(p)
    p.set_defaults(func=show)
    p = csub.add_parser("list", help="cost-model versions, newest first")
    p.add_argument("--limit", type=int, default=20)
    common(p)
    p.set_defaults(func=list_models)
    p = csub.add_parser("refit", help="refit now from all history and billing data")
    p.add_argument("--top", type=int, default=10, help="rows per table")
    common(p)
    p.set_defaults(func=refit)
    p = csub.add_parser("diff", help="what changed between two versions")
    p.add_argument("from_version", type=int)
    p.add_argument("to_version", nargs="?", type=int, default=0, help="default: the newest")
    common(p)
    p.set_defaults(func=diff)
