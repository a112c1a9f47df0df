"""How long a simulated week takes: the Philly-derived trace on real GPU catalogs.

    .venv/bin/python -m benchmarks.sim.run [--jobs 2000] [--policy optimizer] [--tick-s 60]
        [--seed 0] [--no-traces] [--profile 30] [--data-dir ../shared/data] [--out PATH]

Builds the scenario of :mod:`benchmarks.sim.week`, runs it through the simulator
(:func:`scheduler.sim.simulate`, a fresh store in a temporary directory unless
``--store DIR``), prints where the wall time went, what the run did and what came
out, and writes everything to ``results.json`` next to this file. The target: under
60 s of wall time for the 2,000 jobs. ``--profile N`` also runs it under cProfile and
prints the N functions with the most cumulative time (to stderr; slower).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from benchmarks.machine import machine
from benchmarks.sim.week import describe, philly_week
from scheduler.sim import SimResult, Simulation

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
TARGET_WALL_S = 60.0

PARTS = (
    ("setup", "setup: store, clouds, loop"),
    ("submit", "submissions (JobStore.submit)"),
    ("tick", "ticks: plan, launch, reconcile"),
    ("solver", "  of which the solver"),
    ("workers", "workers: heartbeats, ends, checkpoints"),
    ("wake", "wake-up bookkeeping"),
    ("refit", "cost-model refits"),
    ("collect", "reading outcomes back"),
    ("total", "total (wall)"),
    ("cpu", "CPU time of the process"),
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def solver_stats(sim: Simulation) -> dict[str, float]:
    planned = np.array([row[3] for row in sim.tick_log if row[1] > 0], dtype=np.float64)
    pending = np.array([row[1] for row in sim.tick_log if row[1] > 0], dtype=np.float64)
    if not planned.size:
        return {}
    return {
        "calls": float(planned.size),
        "mean_ms": float(planned.mean() * 1e3),
        "p95_ms": float(np.percentile(planned, 95) * 1e3),
        "max_ms": float(planned.max() * 1e3),
        "mean_jobs_per_plan": float(pending.mean()),
        "max_jobs_per_plan": float(pending.max()),
    }


def print_report(result: SimResult, sim: Simulation, scenario: dict[str, object]) -> None:
    s, t, c = result.summary, result.timings, result.counters
    total = t.get("total", 0.0) or 1.0
    print(
        f"\nScenario: {scenario['jobs']} jobs ({scenario['workload']}), "
        f"{scenario['offerings']} offerings in {', '.join(scenario['regions'])}, "  # type: ignore[arg-type]
        f"policy {scenario['policy']}, tick grid {scenario['tick_s']:g} s"
    )
    print(f"Simulated {s.virtual_s / 86400:.2f} days.\n")
    print("| part | wall s | share |\n|---|---:|---:|")
    for key, label in PARTS:
        if key in t:
            share = "" if key in ("total", "cpu") else f"{t[key] / total:.0%}"
            print(f"| {label} | {t[key]:.1f} | {share} |")
    verdict = "PASS" if t["total"] < TARGET_WALL_S else "MISS"
    print(f"\n{verdict}: {t['total']:.1f} s wall (target < {TARGET_WALL_S:g} s)\n")
    solver = solver_stats(sim)
    print("| what the run did | |\n|---|---:|")
    print(f"| events | {s.events:,} |")
    print(f"| ticks (of which planning) | {s.ticks:,} ({s.plan_ticks:,}) |")
    for key in sorted(k for k in c if k.startswith("ticks:")):
        print(f"|   ticks asked for by {key.removeprefix('ticks:')} | {c[key]:,} |")
    if solver:
        print(
            f"| solver per plan: mean / p95 / max ms | {solver['mean_ms']:.1f} / "
            f"{solver['p95_ms']:.1f} / {solver['max_ms']:.0f} |"
        )
        print(
            f"| jobs per plan: mean / max | {solver['mean_jobs_per_plan']:.1f} / "
            f"{solver['max_jobs_per_plan']:.0f} |"
        )
    writes = sum(v for k, v in c.items() if k.startswith("writes:"))
    print(f"| store writes | {writes:,} |")
    for key in sorted(k for k in c if k.startswith("writes:")):
        print(f"|   {key.removeprefix('writes:')} | {c[key]:,} |")
    print(
        f"| store reads: asked of the database / answered from memory | "
        f"{c.get('reads:store', 0):,} / {c.get('reads:remembered', 0):,} |"
    )
    print("\n| outcome | |\n|---|---:|")
    print(f"| succeeded / failed / unfinished | {s.succeeded} / {s.failed} / {s.unfinished} |")
    print(f"| cost | ${s.cost:,.2f} |")
    print(f"| deadlines met | {s.deadlines_met} ({s.attainment:.1%}) |")
    print(
        f"| late: jobs, mean / p95 / max lateness | {s.late}, {s.mean_lateness_s / 60:.0f} / "
        f"{s.p95_lateness_s / 60:.0f} / {s.max_lateness_s / 60:.0f} min |"
    )
    print(f"| preemptions | {s.preemptions} |")
    print(f"| attempts (launch failures) | {s.attempts} ({s.launch_failures}) |")
    print(
        f"| spot share of cost / of node-hours | {s.spot_cost_share:.1%} / "
        f"{s.spot_hours_share:.1%} |"
    )
    print(f"| node-hours | {s.node_hours:,.0f} |")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="the shared data")
    ap.add_argument("--jobs", type=int, default=2000, help="first N jobs of the trace")
    ap.add_argument("--policy", default="optimizer", help="a name of solver.policies")
    ap.add_argument("--tick-s", type=float, default=60.0, help="the tick grid, virtual s")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-traces", action="store_true", help="hazards only, no spot traces")
    ap.add_argument("--store", type=Path, default=None, help="keep the store in this dir")
    ap.add_argument(
        "--plain-store",
        action="store_true",
        help="every read asks the database (measures what the remembering store saves)",
    )
    ap.add_argument("--profile", type=int, default=0, help="cProfile; print the top N")
    ap.add_argument("--out", type=Path, default=HERE / "results.json", help="results JSON")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log(f"building the scenario from {args.data_dir}")
    t0 = time.perf_counter()
    config, workload = philly_week(
        args.data_dir,
        jobs=args.jobs,
        seed=args.seed,
        policy=args.policy,
        tick_s=args.tick_s,
        traces=not args.no_traces,
    )
    scenario = describe(config, workload)
    build_s = time.perf_counter() - t0
    log(f"  {scenario['jobs']} jobs, {scenario['offerings']} offerings ({build_s:.1f} s)")
    before = machine()
    with tempfile.TemporaryDirectory(prefix="skybatch-sim-") as tmp:
        store = args.store or Path(tmp) / "store"
        sim = Simulation(config, workload, store, remember=not args.plain_store)
        profile = cProfile.Profile() if args.profile else None
        try:
            log("simulating")
            if profile is not None:
                profile.enable()
            result = sim.run()
            if profile is not None:
                profile.disable()
        finally:
            sim.close()
    print_report(result, sim, scenario)
    if profile is not None:
        stats = pstats.Stats(profile, stream=sys.stderr)
        stats.sort_stats("cumulative").print_stats(args.profile)
    doc = {
        "machine": before,
        "load_average_after": os.getloadavg() if hasattr(os, "getloadavg") else None,
        "profiled": bool(profile),
        "plain_store": args.plain_store,
        "scenario": scenario,
        "scenario_build_s": build_s,
        "target_wall_s": TARGET_WALL_S,
        "solver": solver_stats(sim),
        **{k: v for k, v in result.to_json().items() if k != "jobs"},
    }
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
