"""Spot and deadlines: the "Can't Be Late" (NSDI'24) grid, every policy through the
same ``policy(problem, *, time_limit_s, hint) -> Plan`` interface.

    .venv/bin/python -m benchmarks.spot_deadline.run [--starts N] [--quick]
        [--multi-starts N] [--seed 0] [--workers 2] [--data-dir ../shared/data]

Single zone (:mod:`benchmarks.spot_deadline.scenario`): a 48 h job, deadlines 52/70/92 h,
restart overheads 0.02/0.2/0.4 h, K80 and V100 in us-west-2a and us-west-2b, ``N``
random start offsets per trace (seeded; the same offsets for every cell of a
trace). Several zones: the nine zones of the 2023 V100 trace at once; our optimizer
sees them all and may move (each move is a restart), Uniform Progress runs per zone
round-robin (:class:`~benchmarks.spot_deadline.sim.RoundRobin`) and, for reference,
over all zones at once ("any zone", the authors' multi-region reading). Each run is
simulated by :mod:`benchmarks.spot_deadline.sim`; the omniscient optimum by
:mod:`benchmarks.spot_deadline.omniscient`.

Reported per cell and policy: mean cost normalized to on-demand, the gap to the
omniscient optimum (``mean cost / mean optimum - 1``), deadline misses. Goals: our
gap below Uniform Progress's in every single-zone cell with no deadline misses; in
the multi-zone cells at least 20% cheaper than Uniform Progress round-robin.
Progress goes to stderr, tables to stdout, everything to ``results.json`` here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import multiprocessing as mp
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.spot_deadline import scenario
from benchmarks.spot_deadline.omniscient import MAX_EXACT_UNITS, omniscient_cost, work_unit
from benchmarks.spot_deadline.sim import (
    Case,
    History,
    Outcome,
    RoundRobin,
    Setting,
    View,
    on_demand_cost,
    simulate,
    window,
)
from solver.policies import Policy, get

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
#: Our cost at most this share of Uniform Progress round-robin's, several zones.
MULTI_TARGET = 0.8
OURS = "optimizer"
UP = "uniform-progress"
UP_ANY = "uniform-progress (any zone)"


@dataclass(frozen=True)
class Entry:
    """A policy as run here: its registry name, view of the zones, outlook or not."""

    label: str
    policy: str
    round_robin: bool = False
    outlook: bool = True


SINGLE = (
    Entry(OURS, "optimizer"),
    Entry("optimizer (no outlook)", "optimizer", outlook=False),
    Entry("greedy", "greedy"),
    Entry("on-demand", "on-demand"),
    Entry("spot-only", "spot-only"),
    Entry(UP, "uniform-progress"),
)
MULTI = (
    Entry(OURS, "optimizer"),
    Entry("optimizer (no outlook)", "optimizer", outlook=False),
    Entry("on-demand", "on-demand"),
    Entry("spot-only", "spot-only"),
    Entry(UP, "uniform-progress", round_robin=True),
    Entry(UP_ANY, "uniform-progress"),
)

#: One run's results, JSON-shaped.
Row = dict[str, Any]

_SETTINGS: dict[str, Setting] = {}
_HISTORY: dict[str, History] = {}


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _init(settings: Sequence[Setting]) -> None:
    for s in settings:
        _SETTINGS[s.name] = s


def run_one(task: tuple[str, Case, int, tuple[Entry, ...]]) -> Row:
    """Every policy and the optimum on one job: setting, case, start tick."""
    name, case, start, entries = task
    setting = _SETTINGS[name]
    history = _HISTORY.setdefault(name, History(setting))
    K = case.deadline_ticks(setting.gap_s)
    od = on_demand_cost(setting, case)
    unit = work_unit(setting.gap_s, case.overhead_s, case.work_s)
    exact = case.work_s // unit <= MAX_EXACT_UNITS
    t0 = time.perf_counter()
    best = omniscient_cost(
        window(setting, start, K),
        gap_s=setting.gap_s,
        overhead_s=case.overhead_s,
        work_s=case.work_s,
        deadline_ticks=K,
        od_per_hour=setting.od_micros_per_hour,
        spot_per_hour=setting.spot_micros_per_hour,
    )
    row: Row = {
        "setting": name,
        "deadline_h": case.deadline_s // 3600,
        "overhead_h": case.overhead_s / 3600,
        "start": start,
        "on_demand_micros": od,
        "omniscient": best / od,
        "omniscient_exact": exact,
        "omniscient_s": time.perf_counter() - t0,
        "policies": {},
    }
    for e in entries:
        view: View | None = RoundRobin([z.name for z in setting.zones]) if e.round_robin else None
        policy: Policy = get(e.policy)
        out = simulate(policy, setting, case, start, view=view, history=history, outlook=e.outlook)
        row["policies"][e.label] = _outcome(out, od)
    return row


def _outcome(out: Outcome, od: float) -> dict[str, Any]:
    d = asdict(out)
    d["cost"] = out.cost_micros / od
    return d


def draw_starts(setting: Setting, n: int, rng: np.random.Generator) -> list[int]:
    """``n`` start ticks, uniformly where the longest deadline still fits the trace."""
    hi = setting.ticks - max(scenario.DEADLINE_HOURS) * 3600 // setting.gap_s
    return sorted(int(x) for x in rng.integers(0, hi, n))


def summarize(rows: Sequence[Row], entries: Sequence[Entry]) -> list[Row]:
    """Per (setting, deadline, overhead): mean costs, gaps, misses, paired ours - UP."""
    cells: dict[tuple[str, int, float], list[Row]] = {}
    for r in rows:
        cells.setdefault((r["setting"], r["deadline_h"], r["overhead_h"]), []).append(r)
    out = []
    for (name, dl, oh), rs in sorted(cells.items()):
        omni = float(np.mean([r["omniscient"] for r in rs]))
        cell: Row = {
            "setting": name,
            "deadline_h": dl,
            "overhead_h": oh,
            "runs": len(rs),
            "omniscient": omni,
            "omniscient_exact": all(r["omniscient_exact"] for r in rs),
            "policies": {},
        }
        for e in entries:
            costs = np.array([r["policies"][e.label]["cost"] for r in rs])
            calls = sum(r["policies"][e.label]["calls"] for r in rs)
            secs = sum(r["policies"][e.label]["policy_s"] for r in rs)
            cell["policies"][e.label] = {
                "cost": float(costs.mean()),
                "gap": float(costs.mean() / omni - 1) if omni > 0 else float("nan"),
                "misses": int(sum(r["policies"][e.label]["missed"] for r in rs)),
                "unfinished": int(sum(r["policies"][e.label]["unfinished"] for r in rs)),
                "starts": float(np.mean([r["policies"][e.label]["starts"] for r in rs])),
                "od_hours": float(np.mean([r["policies"][e.label]["od_s"] for r in rs]) / 3600),
                "ms_per_call": 1000 * secs / max(1, calls),
            }
        ours = np.array([r["policies"][OURS]["cost"] for r in rs])
        up = np.array([r["policies"][UP]["cost"] for r in rs])
        diff = ours - up
        se = float(diff.std(ddof=1) / np.sqrt(diff.size)) if diff.size > 1 else float("nan")
        cell["ours_minus_up"] = {"mean": float(diff.mean()), "se": se}
        out.append(cell)
    return out


def goals(single: Sequence[Row], multi: Sequence[Row]) -> list[Row]:
    out: list[Row] = []
    for c in single:
        ours, up = c["policies"][OURS], c["policies"][UP]
        out.append(
            {
                "goal": "gap below Uniform Progress, no misses",
                "cell": f"{c['setting']} {c['deadline_h']}h {c['overhead_h']:g}h",
                "ours_gap": ours["gap"],
                "up_gap": up["gap"],
                "ours_misses": ours["misses"],
                "pass": ours["gap"] < up["gap"] and ours["misses"] == 0,
                "clear": abs(c["ours_minus_up"]["mean"]) > 2 * c["ours_minus_up"]["se"],
            }
        )
    for c in multi:
        ours, up = c["policies"][OURS], c["policies"][UP]
        ratio = ours["cost"] / up["cost"]
        out.append(
            {
                "goal": f"cost at most {MULTI_TARGET:.0%} of Uniform Progress round-robin",
                "cell": f"{c['setting']} {c['deadline_h']}h {c['overhead_h']:g}h",
                "ours_cost": ours["cost"],
                "up_cost": up["cost"],
                "ratio": ratio,
                "ours_misses": ours["misses"],
                "pass": ratio <= MULTI_TARGET and ours["misses"] == 0,
                "clear": abs(c["ours_minus_up"]["mean"]) > 2 * c["ours_minus_up"]["se"],
            }
        )
    if multi:
        ours_all = float(np.mean([c["policies"][OURS]["cost"] for c in multi]))
        up_all = float(np.mean([c["policies"][UP]["cost"] for c in multi]))
        out.append(
            {
                "goal": f"cost at most {MULTI_TARGET:.0%} of Uniform Progress round-robin",
                "cell": "several zones, all cells",
                "ours_cost": ours_all,
                "up_cost": up_all,
                "ratio": ours_all / up_all,
                "pass": ours_all / up_all <= MULTI_TARGET,
            }
        )
    return out


def run_grid(
    settings: Sequence[Setting],
    cases: Sequence[Case],
    starts: dict[str, list[int]],
    entries: tuple[Entry, ...],
    workers: int,
    label: str,
) -> list[Row]:
    tasks = [(s.name, c, st, entries) for s in settings for c in cases for st in starts[s.name]]
    per_cell = {(s.name, c): len(starts[s.name]) for s in settings for c in cases}
    done_cell: dict[tuple[str, int, int], int] = {}
    rows: list[Row] = []
    t0 = time.perf_counter()
    ctx = mp.get_context("fork")
    with ctx.Pool(workers, initializer=_init, initargs=(settings,)) as pool:
        for k, row in enumerate(pool.imap_unordered(run_one, tasks), start=1):
            rows.append(row)
            key = (row["setting"], row["deadline_h"], round(row["overhead_h"] * 3600))
            done_cell[key] = done_cell.get(key, 0) + 1
            n = next(v for (nm, c), v in per_cell.items() if nm == key[0])
            if done_cell[key] == n:
                el = time.perf_counter() - t0
                eta = el / k * (len(tasks) - k)
                log(
                    f"[{label}] {key[0]} {key[1]}h {key[2] / 3600:g}h done "
                    f"({k}/{len(tasks)} runs, {el:.0f}s, ~{eta:.0f}s left)"
                )
    return rows


def _pct(x: float) -> str:
    return f"{x:+.1%}"


def tables(
    single: Sequence[Row], multi: Sequence[Row]
) -> list[tuple[str, list[str], list[list[str]]]]:
    out = []
    for title, cells, entries in (
        ("Single zone", single, SINGLE),
        ("Several zones", multi, MULTI),
    ):
        if not cells:
            continue
        for name in sorted({c["setting"] for c in cells}):
            head = ["deadline", "overhead", "optimum"] + [e.label for e in entries]
            rows = []
            for c in (c for c in cells if c["setting"] == name):
                row = [f"{c['deadline_h']} h", f"{c['overhead_h']:g} h", f"{c['omniscient']:.3f}"]
                for e in entries:
                    p = c["policies"][e.label]
                    miss = f", {p['misses']} late" if p["misses"] else ""
                    row.append(f"{p['cost']:.3f} ({_pct(p['gap'])}{miss})")
                rows.append(row)
            runs = cells[0]["runs"]
            out.append((f"{title}: {name} ({runs} starts per cell)", head, rows))
    return out


def print_table(title: str, head: list[str], rows: list[list[str]], markdown: bool) -> None:
    print(f"\n{title}\n")
    if markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|")
        for r in rows:
            print("| " + " | ".join(r) + " |")
        return
    widths = [max(len(x) for x in col) for col in zip(head, *rows, strict=True)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for r in rows:
        print("  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)))


def print_goals(gs: Sequence[Row], markdown: bool) -> None:
    head = ["goal", "cell", "ours", "Uniform Progress", "result"]
    rows = []
    for g in gs:
        if "ours_gap" in g:
            ours, up = _pct(g["ours_gap"]), _pct(g["up_gap"])
        else:
            ours, up = f"{g['ours_cost']:.3f}", f"{g['up_cost']:.3f} (x{g['ratio']:.2f})"
        verdict = "PASS" if g["pass"] else "MISS"
        if "clear" in g and not g["clear"]:
            verdict += " (within noise)"
        rows.append([g["goal"], g["cell"], ours, up, verdict])
    print_table("Goals", head, rows, markdown)


def machine() -> dict[str, Any]:
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "git_commit": commit,
    }


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--starts", type=int, default=16, help="start offsets per single-zone trace")
    ap.add_argument("--multi-starts", type=int, default=None, help="start offsets, several zones")
    ap.add_argument("--quick", action="store_true", help="3 starts per trace (a smoke run)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--no-multi", action="store_true", help="single zone only")
    ap.add_argument("--no-single", action="store_true", help="several zones only")
    ap.add_argument("--data-dir", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--out", type=Path, default=HERE / "results.json")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    return ap.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    n_single = 3 if args.quick else args.starts
    n_multi = 3 if args.quick else (args.multi_starts or max(1, args.starts // 2))
    t0 = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    singles = scenario.single_zone_settings(args.data_dir)
    slices = scenario.check_slices(args.data_dir)
    bad = [s for s in slices if s["agree"] != 1.0]
    log(f"random-start slices found in the full traces: {len(slices) - len(bad)}/{len(slices)}")
    cases = scenario.cases()
    starts = {s.name: draw_starts(s, n_single, rng) for s in singles}
    single_rows: list[Row] = []
    if not args.no_single:
        single_rows = run_grid(singles, cases, starts, SINGLE, args.workers, "single zone")
    multi_rows: list[Row] = []
    multis: list[Setting] = []
    if not args.no_multi:
        multis = [scenario.multi_zone_setting(args.data_dir)]
        mstarts = {s.name: draw_starts(s, n_multi, rng) for s in multis}
        multi_rows = run_grid(multis, cases, mstarts, MULTI, args.workers, "several zones")
    single = summarize(single_rows, SINGLE)
    multi = summarize(multi_rows, MULTI)
    gs = goals(single, multi)
    wall = time.perf_counter() - t0
    for title, head, rows in tables(single, multi):
        print_table(title, head, rows, args.markdown)
    print_goals(gs, args.markdown)
    print(f"\nwall time {wall:.0f} s ({args.workers} workers)")
    result = {
        "machine": machine(),
        "args": {k: str(v) for k, v in vars(args).items()},
        "wall_s": wall,
        "settings": [
            {"name": s.name, "zones": [z.name for z in s.zones], "gap_s": s.gap_s}
            for s in (*singles, *multis)
        ],
        "starts": {**starts, **({s.name: mstarts[s.name] for s in multis} if multis else {})},
        "slices": slices,
        "single_zone": single,
        "several_zones": multi,
        "goals": gs,
        "runs": [*single_rows, *multi_rows],
    }
    args.out.write_text(json.dumps(result, indent=1, default=_json_default))
    log(f"wrote {args.out}")
    return 0


def _json_default(x: object) -> object:
    if isinstance(x, np.integer | np.floating):
        return x.item()
    if isinstance(x, np.bool_):
        return bool(x)
    raise TypeError(type(x))


if __name__ == "__main__":
    raise SystemExit(main())
