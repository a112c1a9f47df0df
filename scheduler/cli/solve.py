"""``skybatch solve PROBLEM.json``: plan a problem file offline, with no server.

Reads a problem (docs/problem-format.md), runs the solver once and writes the plan
JSON to ``--out`` (the summary goes to stdout) or, without ``--out``, to stdout (the
summary goes to stderr, so ``skybatch solve p.json > plan.json`` works). A bad
problem or hint file is refused before anything is solved or written.
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from collections import Counter
from pathlib import Path

from rich.table import Table

import solver
from scheduler.cli.render import make_console
from scheduler.errors import InvalidArgument, SkybatchError
from scheduler.problemfile import load_plan, load_problem, plan_text, reason_name, write_plan
from solver.model import Plan, Problem
from solver.money import from_micros

POLICIES = ("optimizer", "greedy")


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "solve",
        help="plan a problem JSON file offline (docs/problem-format.md)",
        description="Plan a problem JSON file offline and write the plan as JSON.",
    )
    p.add_argument("problem", type=Path, metavar="PROBLEM.json")
    p.add_argument(
        "--out",
        type=Path,
        metavar="PLAN.json",
        help="write the plan here (default: the plan to stdout, the summary to stderr)",
    )
    p.add_argument(
        "--time-limit",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="optimizer time limit (default 2)",
    )
    p.add_argument(
        "--hint", type=Path, metavar="PLAN.json", help="a previous plan for the optimizer"
    )
    p.add_argument("--policy", choices=POLICIES, default="optimizer", help="default: optimizer")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not (math.isfinite(args.time_limit) and args.time_limit > 0):
        raise InvalidArgument("--time-limit", "must be a positive number of seconds")
    out: Path | None = args.out
    if out is not None and not out.parent.is_dir():
        raise InvalidArgument("--out", f"{out.parent} is not a directory")
    problem = load_problem(args.problem)
    hint = _load_hint(args.hint) if args.hint is not None else None

    started = time.perf_counter()
    if args.policy == "greedy":
        plan = solver.solve_greedy(problem)
    else:
        plan = solver.solve(problem, time_limit_s=args.time_limit, hint=hint)
    wall_s = time.perf_counter() - started

    table = summary_table(plan, problem, wall_s)
    if out is None:
        sys.stdout.write(plan_text(plan, problem))
        sys.stdout.flush()
        make_console(stderr=True).print(table)
        return 0
    try:
        write_plan(plan, problem, out)
    except OSError as exc:
        raise SkybatchError(f"cannot write {out}: {exc.strerror or exc}") from None
    console = make_console()
    console.print(table)
    console.print(f"plan written to {out}")
    return 0


def _load_hint(path: Path) -> Plan:
    try:
        return load_plan(path)
    except InvalidArgument as exc:
        raise InvalidArgument("--hint", f"{exc.field}: {exc.problem}") from None


def summary_table(plan: Plan, problem: Problem, wall_s: float) -> Table:
    """Counts of placed / late / unplaced (by reason), objective, bound, gap, time."""
    decisions = list(plan.decisions.values())
    on_time = sum(1 for d in decisions if d.placed and not d.late)
    late = sum(1 for d in decisions if d.placed and d.late)
    unplaced = Counter(reason_name(d.reason) for d in decisions if not d.placed and d.reason)
    unplaced_total = sum(1 for d in decisions if not d.placed)

    t = Table(title=f"plan ({plan.solver})")
    t.add_column("")
    t.add_column("value", justify="right")
    t.add_row("jobs", str(len(problem.jobs)))
    t.add_row("placed on time", str(on_time))
    t.add_row("placed late", str(late))
    t.add_row("unplaced", str(unplaced_total))
    for reason, count in sorted(unplaced.items()):
        t.add_row(f"  {reason}", str(count))
    t.add_row("objective $", str(from_micros(plan.objective_micros)))
    t.add_row("lower bound $", str(from_micros(plan.lower_bound_micros)))
    t.add_row("  unavoidable penalty $", str(from_micros(plan.unavoidable_micros)))
    gap = plan.gap
    t.add_row("gap", f"{gap:.2%}" if math.isfinite(gap) else "n/a")
    t.add_row("wall time", f"{wall_s:.2f} s")
    return t
