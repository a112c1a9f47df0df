"""``skybatch simulate SCENARIO.yaml``: run a what-if study and compare its runs."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from rich.table import Table

from scheduler.cli.render import make_console
from scheduler.errors import InvalidArgument
from scheduler.sim.scenario import load_scenario
from scheduler.sim.sweep import plan_runs, run_all, write_results

console = make_console()
err = make_console(stderr=True)


def simulate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    if args.workers is not None and args.workers < 1:
        raise InvalidArgument("--workers", "must be >= 1")
    out_dir: Path = args.out or Path("sim-results") / scenario.name
    runs = plan_runs(scenario, out_dir, seed=args.seed)
    err.print(
        f"{scenario.name}: {len(scenario.points)} point(s) x {len(scenario.policies)} "
        f"policy(ies) = {len(runs)} run(s) -> {out_dir}"
    )
    started = time.perf_counter()

    def progress(row: dict[str, Any], done: int, total: int) -> None:
        err.print(
            f"  [{done}/{total}] {row['point']} / {row['policy']}: {row['succeeded']}/"
            f"{row['jobs']} jobs, ${row['cost']}, {row['wall_s']:.1f} s"
        )

    rows = run_all(runs, workers=args.workers, ray_address=args.ray_address, progress=progress)
    paths = write_results(
        rows,
        out_dir,
        {
            "scenario": str(args.scenario),
            "name": scenario.name,
            "seed": args.seed,
            "wall_s": round(time.perf_counter() - started, 2),
        },
    )
    console.print(comparison_table(rows, scenario.name))
    for path in paths:
        console.print(f"wrote {path}")
    console.print(
        f"stores: {out_dir}/<point>/<policy>/skybatch.db "
        "(skybatch report sla --db-url sqlite:///...)"
    )
    return 0


def _pct(x: object) -> str:
    return f"{x:.1%}" if isinstance(x, float) else "-"


def comparison_table(rows: list[dict[str, Any]], title: str) -> Table:
    t = Table(title=title)
    for name in (
        "point",
        "policy",
        "done",
        "deadlines met",
        "cost $",
        "vs first",
        "late",
        "p95 late h",
        "preempt",
        "spot share",
        "wall s",
    ):
        t.add_column(name, justify="left" if name in ("point", "policy") else "right")
    for r in rows:
        rel = r.get("cost_vs_first_policy")
        t.add_row(
            r["point"],
            r["policy"],
            f"{r['succeeded']}/{r['jobs']}",
            _pct(r["attainment"]),
            f"{float(r['cost']):,.2f}",
            f"{rel:.3f}" if isinstance(rel, float) else "-",
            str(r["late"]),
            f"{r['p95_lateness_h']:.2f}",
            str(r["preemptions"]),
            _pct(r["spot_cost_share"]),
            f"{r['wall_s']:.1f}",
        )
    return t


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "simulate",
        help="run a what-if scenario (YAML) through the simulator and compare policies",
    )
    p.add_argument("scenario", type=Path, help="scenario file (docs/simulation.md)")
    p.add_argument("--out", type=Path, default=None, help="default: sim-results/<name>")
    p.add_argument("--workers", type=int, default=None, help="local processes (default: cores)")
    p.add_argument("--ray-address", default=None, help="run on this Ray cluster instead")
    p.add_argument("--seed", type=int, default=0, help="default seed of the points")
    p.set_defaults(func=simulate)
