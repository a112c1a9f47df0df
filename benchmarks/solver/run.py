"""The optimizer benchmark: real catalogs, real traces, contended quotas.

    .venv/bin/python -m benchmarks.solver.run [--sizes 1000 10000 100000] [--distinct 10000]
        [--seed 0] [--contention 1.25] [--spot-contention 0.5] [--exact 60]

For each instance (see :mod:`benchmarks.solver.instances`) it runs the greedy policy
(``solver.solve_greedy``), the optimizer (``solver.solve``) and the per-job-cheapest
baseline (each job alone on its cheapest timely column, quotas and budgets ignored:
how a planner that places one task at a time would place them), checks every plan
with the independent checker (:mod:`benchmarks.solver.check`), solves the instances
of up to :data:`~benchmarks.solver.exact.MAX_CLASSES` classes exactly with SCIP
(:mod:`benchmarks.solver.exact`: how much cheaper than greedy any plan can be), prints
the tables and writes ``results.json`` next to this file. Costs are the expected cost
of jobs placed in time, penalties excluded (one unplaced job is a $1M penalty, which
would swamp every percentage); unplaced and late jobs are counted separately, and the "10% cheaper
than greedy" target passes only if the optimizer also leaves no more jobs unplaced than
greedy. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

import solver
from benchmarks.machine import machine
from benchmarks.solver.check import CheckResult, check_plan
from benchmarks.solver.exact import MAX_CLASSES, solve_exact
from benchmarks.solver.instances import BuiltInstance, InstanceSpec, build_instance, load_offerings
from benchmarks.solver.reference import Reference
from benchmarks.solver.traces import read_traces

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"

#: (instance, jobs, distinct, max wall s, max gap) of each speed-and-gap target.
TARGETS: tuple[tuple[str, int, bool, float, float], ...] = (
    ("10k", 10_000, False, 2.0, 0.005),
    ("100k", 100_000, False, 10.0, 0.005),
    ("10k-distinct", 10_000, True, 3.0, 0.015),
)
#: The optimizer's cost (penalties excluded) at most this share of greedy's.
COST_VS_GREEDY = 0.9

#: One instance's results, JSON-shaped.
Row = dict[str, Any]


def default_time_limit(jobs: int, distinct: bool) -> float:
    if distinct:
        return 3.0
    return 2.0 if jobs <= 10_000 else 10.0


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def timed(fn: Callable[[], solver.Plan]) -> tuple[solver.Plan, float]:
    t0 = time.perf_counter()
    plan = fn()
    return plan, time.perf_counter() - t0


def check_summary(check: CheckResult) -> dict[str, Any]:
    out = asdict(check)
    out["violations"] = check.violations
    out["cost"] = check.cost_micros / 1e6
    return out


def on_spot(ref: Reference, decisions: Mapping[str, solver.Decision]) -> int:
    """How many jobs ``decisions`` places on spot."""
    return sum(
        1
        for d in decisions.values()
        if d.offering_id is not None and ref.spot[ref.offering_index[d.offering_id]]
    )


def plan_summary(
    plan: solver.Plan, wall_s: float, check: CheckResult, ref: Reference
) -> dict[str, Any]:
    problem = ref.problem
    penalty = problem.unplaced_penalty_micros
    unavoidable_jobs = plan.unavoidable_micros // penalty if penalty else 0
    return {
        "solver": plan.solver,
        "wall_s": wall_s,
        "cost": check.cost_micros / 1e6,
        "objective_micros": plan.objective_micros,
        "lower_bound_micros": plan.lower_bound_micros,
        "unavoidable_micros": plan.unavoidable_micros,
        #: The bound net of penalties no plan can avoid, in dollars.
        "bound": (plan.lower_bound_micros - plan.unavoidable_micros) / 1e6,
        "gap": plan.gap,
        "placed": check.placed,
        "late": check.late_placed,
        "unplaced": check.unplaced,
        "unavoidable_jobs": int(unavoidable_jobs),
        "on_spot": on_spot(ref, plan.decisions),
        "stats": dict(plan.stats),
        "check": check_summary(check),
    }


def gap_to(objective: int, plan: solver.Plan) -> float:
    """``objective`` against ``plan``'s certified bound, as ``Plan.gap`` measures it."""
    base = plan.lower_bound_micros - plan.unavoidable_micros
    return (objective - plan.lower_bound_micros) / base if base > 0 else float("inf")


def run_instance(built: BuiltInstance, time_limit_s: float, exact_limit_s: float = 0.0) -> Row:
    name, problem, ref = built.spec.name, built.problem, built.reference
    log(f"[{name}] per-job-cheapest baseline: checking")
    cheapest = check_plan(problem, built.cheapest, ref)
    log(f"[{name}] greedy")
    greedy, greedy_s = timed(lambda: solver.solve_greedy(problem))
    greedy_check = check_plan(problem, greedy.decisions, ref)
    log(f"[{name}] optimizer, limit {time_limit_s:g} s")
    plan, plan_s = timed(lambda: solver.solve(problem, time_limit_s=time_limit_s))
    plan_check = check_plan(problem, plan.decisions, ref)
    opt = plan_summary(plan, plan_s, plan_check, ref)
    grd = plan_summary(greedy, greedy_s, greedy_check, ref)
    grd["gap_to_optimizer_bound"] = gap_to(greedy.objective_micros, plan)
    log(
        f"[{name}] optimizer {plan_s:.2f} s, gap {plan.gap:.3%}, unplaced {plan_check.unplaced}, "
        f"${plan_check.cost_micros / 1e6:,.0f}; greedy {greedy_s:.2f} s, unplaced "
        f"{greedy_check.unplaced}, ${greedy_check.cost_micros / 1e6:,.0f}"
    )
    exact: dict[str, Any] | None = None
    classes = int(str(built.info["classes"]))
    if exact_limit_s > 0 and classes <= MAX_CLASSES:
        log(f"[{name}] exact optimum (SCIP), limit {exact_limit_s:g} s")
        result = solve_exact(ref, time_limit_s=exact_limit_s)
        exact = asdict(result)
        log(
            f"[{name}] exact: {result.status} in {result.wall_s:.1f} s, unplaced "
            f"{result.unplaced}, ${result.cost:,.0f}"
        )
    return {
        "instance": name,
        "spec": asdict(built.spec),
        "info": dict(built.info),
        "time_limit_s": time_limit_s,
        "optimizer": opt,
        "greedy": grd,
        "exact": exact,
        "cheapest": {
            "cost": cheapest.cost_micros / 1e6,
            "unplaced": cheapest.unplaced,
            "on_spot": on_spot(ref, built.cheapest),
            "quota_cells_over": cheapest.quota_cells_over,
            "quota_overage_hours": dict(cheapest.quota_overage),
            "budget_overruns": cheapest.budget_overruns,
            "budget_overrun": cheapest.budget_overrun_micros / 1e6,
            "check": check_summary(cheapest),
        },
        "cost_vs_greedy": plan_check.cost_micros / greedy_check.cost_micros
        if greedy_check.cost_micros
        else float("nan"),
        "exact_vs_greedy": exact["cost"] * 1e6 / greedy_check.cost_micros
        if exact and exact["status"] != "none" and greedy_check.cost_micros
        else None,
        "time_vs_greedy": plan_s / greedy_s if greedy_s > 0 else float("nan"),
    }


def cost_target(row: Row) -> dict[str, Any]:
    """PASS when the optimizer's cost (penalties excluded) is at most
    :data:`COST_VS_GREEDY` x greedy's *and* it leaves no more jobs unplaced than greedy
    (a plan that drops jobs is cheap for the wrong reason)."""
    ratio = float(row["cost_vs_greedy"])
    opt, grd = row["optimizer"], row["greedy"]
    measured = f"optimizer/greedy cost {ratio:.4f}; unplaced {opt['unplaced']} vs {grd['unplaced']}"
    if row.get("exact_vs_greedy") is not None:
        measured += f"; exact optimum/greedy {float(row['exact_vs_greedy']):.4f}"
    return {
        "target": f"{row['instance']}: at least {1 - COST_VS_GREEDY:.0%} cheaper than greedy "
        "(penalties excluded), no more jobs unplaced",
        "measured": measured,
        "pass": ratio <= COST_VS_GREEDY and int(opt["unplaced"]) <= int(grd["unplaced"]),
    }


def evaluate_targets(rows: Sequence[Row]) -> list[dict[str, Any]]:
    by_name = {str(r["instance"]): r for r in rows}
    out: list[dict[str, Any]] = []
    for name, _, _, max_s, max_gap in TARGETS:
        row = by_name.get(name)
        if row is None:
            continue
        opt = row["optimizer"]
        wall, gap = float(opt["wall_s"]), float(opt["gap"])
        out.append(
            {
                "target": f"{name}: under {max_s:g} s within {max_gap:.1%} of the bound",
                "measured": f"{wall:.2f} s, gap {gap:.3%}",
                "pass": wall < max_s and gap <= max_gap,
            }
        )
    for row in rows:
        out.append(cost_target(row))
    for row in rows:
        check = row["optimizer"]["check"]
        bad = int(check["violations"])
        out.append(
            {
                "target": f"{row['instance']}: 0 quota violations, 0 missed deadlines, "
                "0 budget overruns",
                "measured": f"quota cells over {check['quota_cells_over']}, missed deadlines "
                f"{check['missed_deadlines']}, budget overruns {check['budget_overruns']}, "
                f"all checks {bad}",
                "pass": bad == 0,
            }
        )
    return out


def _money(x: float) -> str:
    return f"${x:,.0f}"


def _pct(x: float) -> str:
    """A gap; from 100% up it is penalties of unplaced jobs, not cost."""
    return f"{x:.3%}" if x < 1 else "penalties"


def _ratio(x: object) -> str:
    return "-" if x is None else f"{float(str(x)):.4f}"


def _exact(ex: dict[str, Any] | None, classes: int) -> str:
    if not ex:
        return f"skipped ({classes:,} classes)" if classes > MAX_CLASSES else "not run"
    if ex["status"] == "none":
        return f"none in {ex['wall_s']:.0f} s"
    return f"{_money(ex['cost'])} ({ex['status']}, {ex['wall_s']:.1f} s)"


def tables(rows: Sequence[Row]) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of the result tables, as text cells."""
    inst: list[list[str]] = []
    res: list[list[str]] = []
    gaps: list[list[str]] = []
    base: list[list[str]] = []
    for r in rows:
        info, opt, grd, ch = r["info"], r["optimizer"], r["greedy"], r["cheapest"]
        ex = r.get("exact")
        stats = opt["stats"]
        inst.append(
            [
                str(r["instance"]),
                f"{info['jobs']:,}",
                f"{info['arrays']:,}",
                f"{info['classes']:,} / {int(stats.get('classes', 0)):,}",
                str(info["offerings"]),
                f"{info['pools']} ({info['vcpu_pools']} vCPU, {info['gpu_pools']} GPU; "
                f"{info.get('spot_pools', 0)} of them spot)",
                str(info["budgets"]),
                f"{int(stats.get('columns', 0)):,}",
            ]
        )
        target = cost_target(r)
        res.append(
            [
                str(r["instance"]),
                f"{r['time_limit_s']:g}",
                f"{opt['wall_s']:.2f}",
                f"{grd['wall_s']:.2f}",
                _money(opt["cost"]),
                f"{opt['unplaced']}",
                f"{opt['late']}",
                f"{opt.get('on_spot', 0):,}",
                _money(grd["cost"]),
                f"{grd['unplaced']}",
                f"{grd['late']}",
                f"{grd.get('on_spot', 0):,}",
                f"{r['cost_vs_greedy']:.4f}",
                _ratio(r.get("exact_vs_greedy")),
                "PASS" if target["pass"] else "MISS",
            ]
        )
        opt_vs_exact = "-"
        if ex and ex["status"] != "none" and ex["unplaced"] == opt["unplaced"]:
            opt_vs_exact = f"{opt['cost'] / ex['cost'] - 1:+.3%}"
        gaps.append(
            [
                str(r["instance"]),
                _money(opt["bound"]),
                _pct(opt["gap"]),
                _pct(grd["gap_to_optimizer_bound"]),
                _exact(ex, int(info["classes"])),
                opt_vs_exact,
                str(opt["solver"]),
                f"{opt['check']['violations']} / {grd['check']['violations']}",
            ]
        )
        over = ch["quota_overage_hours"]
        base.append(
            [
                str(r["instance"]),
                _money(ch["cost"]),
                f"{ch.get('on_spot', 0):,}",
                f"{ch['quota_cells_over']}",
                f"{over.get('vcpu', 0.0):,.0f}",
                f"{over.get('gpu', 0.0):,.0f}",
                f"{over.get('spot vcpu', 0.0):,.0f}",
                f"{over.get('spot gpu', 0.0):,.0f}",
                f"{ch['budget_overruns']} ({_money(ch['budget_overrun'])})",
            ]
        )
    return [
        (
            "Instances",
            [
                "instance",
                "jobs",
                "arrays",
                "classes (distinct jobs / solver)",
                "offerings",
                "quota pools",
                "budgets",
                "LP columns",
            ],
            inst,
        ),
        (
            "Optimizer vs greedy (cost: jobs placed in time, penalties excluded)",
            [
                "instance",
                "limit s",
                "optimizer s",
                "greedy s",
                "optimizer cost",
                "opt unplaced",
                "opt late",
                "opt on spot",
                "greedy cost",
                "greedy unplaced",
                "greedy late",
                "greedy on spot",
                "cost opt / greedy",
                "cost exact optimum / greedy",
                f"{1 - COST_VS_GREEDY:.0%} cheaper, no more unplaced",
            ],
            res,
        ),
        (
            "Bounds and exact optimum",
            [
                "instance",
                "certified bound",
                "optimizer gap",
                "greedy gap",
                "exact optimum (SCIP)",
                "optimizer vs exact",
                "plan from",
                "check failures opt / greedy",
            ],
            gaps,
        ),
        (
            "Per-job cheapest, quotas and budgets ignored",
            [
                "instance",
                "cost",
                "jobs on spot",
                "pool x slot cells over quota",
                "on-demand vCPU-hours over",
                "on-demand GPU-hours over",
                "spot vCPU-hours over",
                "spot GPU-hours over",
                "budgets overrun",
            ],
            base,
        ),
    ]


def print_tables(rows: Sequence[Row], markdown: bool) -> None:
    console = Console()
    for title, header, body in tables(rows):
        if markdown:
            print(f"\n**{title}**\n")
            print("| " + " | ".join(header) + " |")
            print("|" + "---|" * len(header))
            for line in body:
                print("| " + " | ".join(line) + " |")
            continue
        table = Table(title=title)
        for h in header:
            table.add_column(h, justify="left" if h == "instance" else "right")
        for line in body:
            table.add_row(*line)
        console.print(table)


def print_targets(targets: Sequence[dict[str, Any]], markdown: bool) -> None:
    if markdown:
        print("\n| target | measured | |\n|---|---|---|")
    for t in targets:
        verdict = "PASS" if t["pass"] else "MISS"
        if markdown:
            print(f"| {t['target']} | {t['measured']} | {verdict} |")
        else:
            print(f"{verdict}  {t['target']}: {t['measured']}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument(
        "--data-dir", type=Path, default=DEFAULT_DATA, help="the shared data (../shared/data)"
    )
    ap.add_argument(
        "--sizes", type=int, nargs="*", default=[1_000, 10_000, 100_000], help="pending jobs"
    )
    ap.add_argument(
        "--distinct", type=int, nargs="*", default=[10_000], help="sizes of all-distinct runs"
    )
    ap.add_argument(
        "--time-limit",
        type=float,
        default=None,
        help="seconds for every run (default: 2 up to 10k jobs, 10 above, 3 for distinct)",
    )
    ap.add_argument("--seed", type=int, default=0, help="instance seed")
    ap.add_argument(
        "--exact",
        type=float,
        default=60.0,
        help=f"seconds for the exact optimum (SCIP) of instances up to {MAX_CLASSES:,} "
        "classes; 0: skip",
    )
    ap.add_argument(
        "--contention",
        type=float,
        default=InstanceSpec(jobs=0).contention,
        help="on-demand quota per resource / peak demand of the cheapest on-demand placement",
    )
    ap.add_argument(
        "--spot-contention",
        type=float,
        default=InstanceSpec(jobs=0).spot_contention,
        help="spot quota per resource / peak spot demand of the per-job-cheapest placement",
    )
    ap.add_argument(
        "--slot-minutes", type=int, default=60, help="slot length (the horizon stays 24 h)"
    )
    ap.add_argument("--out", type=Path, default=HERE / "results.json", help="results JSON")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    log(f"loading catalogs and traces from {args.data_dir}")
    t0 = time.perf_counter()
    catalog = load_offerings(args.data_dir)
    traces = read_traces(args.data_dir)
    log(
        f"  {len(catalog.offerings)} offerings, {len(traces.philly)} Philly jobs, "
        f"{len(traces.alibaba)} Alibaba pods ({time.perf_counter() - t0:.1f} s)"
    )
    specs = [
        InstanceSpec(
            jobs=n,
            distinct=distinct,
            seed=args.seed,
            contention=args.contention,
            spot_contention=args.spot_contention,
            slot_s=60 * args.slot_minutes,
        )
        for ns, distinct in ((args.sizes, False), (args.distinct, True))
        for n in ns
    ]
    rows: list[Row] = []
    for spec in specs:
        log(f"[{spec.name}] building instance")
        t0 = time.perf_counter()
        built = build_instance(spec, catalog, traces)
        info = built.info
        log(
            f"[{spec.name}] built in {time.perf_counter() - t0:.1f} s: {info['jobs']} jobs, "
            f"{info['arrays']} arrays, {info['classes']} distinct job shapes, "
            f"{info['offerings']} offerings, {info['pools']} pools"
        )
        limit = args.time_limit or default_time_limit(spec.jobs, spec.distinct)
        rows.append(run_instance(built, limit, args.exact))
    targets = evaluate_targets(rows)
    print_tables(rows, args.markdown)
    print_targets(targets, args.markdown)
    doc = {
        "machine": machine("ortools", "numpy"),
        "data_dir": str(args.data_dir),
        "catalog_sources": sorted({o.source for o in catalog.offerings}),
        "results": rows,
        "targets": targets,
    }
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    log(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
