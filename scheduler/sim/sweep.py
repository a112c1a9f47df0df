"""Run a scenario's points x policies, in parallel, and tabulate them.

Each run is independent (its own store under ``out_dir/<point>/<policy>/``), so runs
go to a local process pool by default, or to a Ray cluster when an address is given
(``ray`` is then imported; it is an optional dependency). Results come back as plain
JSON-able dicts and are written as ``results.json`` and ``results.csv``.
"""

from __future__ import annotations

import csv
import importlib
import json
import os
import re
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scheduler.errors import SkybatchError
from scheduler.sim.engine import simulate
from scheduler.sim.scenario import Point, Scenario, sim_inputs

#: Columns of ``results.csv`` and of the printed comparison, in order.
COLUMNS = (
    "point",
    "policy",
    "jobs",
    "succeeded",
    "unfinished",
    "attainment",
    "cost",
    "cost_vs_first_policy",
    "late",
    "p95_lateness_h",
    "preemptions",
    "spot_cost_share",
    "wall_s",
)


class SweepError(SkybatchError):
    """A run of the sweep failed (the message names the point and policy)."""


@dataclass(frozen=True)
class Run:
    point: Point
    policy: str
    base_dir: Path
    store_dir: Path
    seed: int


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", text).strip("_") or "run"


def plan_runs(scenario: Scenario, out_dir: Path, *, seed: int = 0) -> list[Run]:
    runs = []
    for point in scenario.points:
        for policy in scenario.policies:
            store = out_dir / _slug(point.name) / _slug(policy)
            runs.append(Run(point, policy, scenario.base_dir, store, seed))
    return runs


def run_one(run: Run) -> dict[str, Any]:
    """One simulation; returns its summary row (what the table and the files show)."""
    config, workload = sim_inputs(run.point, run.policy, run.base_dir, seed=run.seed)
    run.store_dir.mkdir(parents=True, exist_ok=True)
    for stale in run.store_dir.glob("skybatch.db*"):
        stale.unlink()
    result = simulate(config, workload, run.store_dir)
    s = result.summary
    return {
        "point": run.point.name,
        "policy": run.policy,
        "overrides": dict(run.point.overrides),
        "jobs": s.jobs,
        "succeeded": s.succeeded,
        "failed": s.failed,
        "unfinished": s.unfinished,
        "attainment": s.attainment,
        "cost": str(s.cost),
        "late": s.late,
        "p95_lateness_h": s.p95_lateness_s / 3600,
        "max_lateness_h": s.max_lateness_s / 3600,
        "preemptions": s.preemptions,
        "attempts": s.attempts,
        "spot_cost_share": s.spot_cost_share,
        "spot_hours_share": s.spot_hours_share,
        "node_hours": s.node_hours,
        "wall_s": s.wall_s,
        "ticks": s.ticks,
        "solver_s": s.solver_s,
        "store": result.db_url,
    }


def run_all(
    runs: list[Run],
    *,
    workers: int | None = None,
    ray_address: str | None = None,
    progress: Callable[[dict[str, Any], int, int], None] | None = None,
) -> list[dict[str, Any]]:
    """Every run, in parallel; rows come back in the order of ``runs``."""
    rows: dict[int, dict[str, Any]] = {}
    for i, row in _execute(runs, workers=workers, ray_address=ray_address):
        rows[i] = row
        if progress is not None:
            progress(row, len(rows), len(runs))
    out = [rows[i] for i in range(len(runs))]
    _relative_costs(out)
    return out


def _execute(
    runs: list[Run], *, workers: int | None, ray_address: str | None
) -> Iterator[tuple[int, dict[str, Any]]]:
    if ray_address:
        yield from _execute_ray(runs, ray_address)
        return
    workers = workers or min(len(runs), os.cpu_count() or 1)
    if workers <= 1:
        for i, run in enumerate(runs):
            yield i, _checked(run)
        return
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(run_one, run): i for i, run in enumerate(runs)}
        for future in as_completed(futures):
            i = futures[future]
            try:
                yield i, future.result()
            except SkybatchError:
                raise
            except Exception as exc:
                raise SweepError(f"{runs[i].point.name} / {runs[i].policy}: {exc}") from exc


def _checked(run: Run) -> dict[str, Any]:
    try:
        return run_one(run)
    except SkybatchError:
        raise
    except Exception as exc:
        raise SweepError(f"{run.point.name} / {run.policy}: {exc}") from exc


def _execute_ray(runs: list[Run], address: str) -> Iterator[tuple[int, dict[str, Any]]]:
    try:
        ray: Any = importlib.import_module("ray")
    except ImportError:
        raise SweepError("--ray-address needs Ray (pip install ray)") from None
    ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
    remote = ray.remote(run_one)
    refs = {remote.remote(run): i for i, run in enumerate(runs)}
    pending = list(refs)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        for ref in done:
            yield refs[ref], ray.get(ref)


def _relative_costs(rows: list[dict[str, Any]]) -> None:
    """Each row's cost over the first policy's cost at the same point."""
    first: dict[str, float] = {}
    for row in rows:
        first.setdefault(row["point"], float(row["cost"]))
    for row in rows:
        base = first[row["point"]]
        row["cost_vs_first_policy"] = float(row["cost"]) / base if base > 0 else None


def write_results(rows: list[dict[str, Any]], out_dir: Path, meta: dict[str, Any]) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / "results.json"
    json_path.write_text(json.dumps({"meta": meta, "runs": rows}, indent=2) + "\n")
    csv_path = out_dir / "results.csv"
    with csv_path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for row in rows:
            writer.writerow([row.get(c) for c in COLUMNS])
    return [json_path, csv_path]
