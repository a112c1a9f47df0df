"""Smoke test of the solver benchmark (benchmarks/solver): the instance builder makes a
valid problem, the plan checker catches broken plans, and the runner runs end to end.

Runs without the shared data directory: catalogs from tests/data/catalogs, traces
written here (synthetic, a handful of rows in the real files' layouts).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

import solver
from adapters.catalog import Catalog
from benchmarks.solver import run
from benchmarks.solver.check import check_plan
from benchmarks.solver.instances import (
    BuiltInstance,
    InstanceSpec,
    build_instance,
    load_offerings,
)
from benchmarks.solver.reference import Reference, is_spot, signature
from benchmarks.solver.traces import (
    ALIBABA_PODS,
    PHILLY_RUNTIMES,
    PHILLY_TRACE,
    Traces,
    read_traces,
)

CATALOGS = Path(__file__).parents[2] / "data" / "catalogs"

PHILLY_ROWS = [
    # job type, command, steps arg, needs data dir, total steps, arrival (s), GPUs
    ("ResNet-18 (batch size 32)", "python3 main.py", "--num_steps", "1", "52322", "0.0", "1"),
    ("ResNet-18 (batch size 32)", "python3 main.py", "--num_steps", "1", "9000", "10.0", "4"),
    ("Transformer (batch size 64)", "python3 train.py", "-step", "1", "220633", "20.0", "8"),
    ("Transformer (batch size 64)", "python3 train.py", "-step", "1", "1200", "30.0", "16"),
    ("A3C", "python3 main.py", "--max-steps", "0", "400000", "40.0", "1"),
]
ALIBABA_ROWS = [
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time",
    "pod-0,12000,16384,1,1000,,LS,Running,0,12537,0",
    "pod-1,6000,12288,1,460,,LS,Running,4270,90000,4270",
    "pod-2,4000,8192,0,0,,BE,Succeeded,100,2000,100",
    "pod-3,88000,327680,8,1000,,Burstable,Succeeded,500,20000,500",
    "pod-4,2000,4096,1,1000,,BE,Pending,900,1900,",
]


def write_data_dir(root: Path) -> Path:
    """The shared data directory's layout, with test catalogs and tiny traces."""
    (root / "catalogs").mkdir(parents=True)
    for cloud in ("gcp", "azure"):
        shutil.copy(CATALOGS / f"{cloud}_vms.csv", root / "catalogs" / f"anycloud_{cloud}_vms.csv")
    advisor = root / "spot_traces" / "aws_spot_advisor"
    advisor.mkdir(parents=True)
    shutil.copy(CATALOGS / "aws_spot_advisor_sample.json", advisor / "spot-advisor-data.json")
    egress = root / "billing" / "skyplane_egress"
    egress.mkdir(parents=True)
    shutil.copy(CATALOGS / "skyplane_egress_sample.csv", egress / "intercloud_egress_cost.csv")
    for rel in (PHILLY_TRACE, PHILLY_RUNTIMES, ALIBABA_PODS):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
    (root / PHILLY_TRACE).write_text("".join("\t".join(r) + "\n" for r in PHILLY_ROWS))
    runtimes = [0, 0, 30, 400, 900, 1800, 2600, 3600, 7200, 20000, 50000, 90000]
    (root / PHILLY_RUNTIMES).write_text("runtime\n" + "".join(f"{r}.0\n" for r in runtimes))
    (root / ALIBABA_PODS).write_text("\n".join(ALIBABA_ROWS) + "\n")
    return root


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_data_dir(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def inputs(data_dir: Path) -> tuple[Catalog, Traces]:
    return load_offerings(data_dir), read_traces(data_dir)


def build(inputs: tuple[Catalog, Traces], **spec: object) -> BuiltInstance:
    catalog, traces = inputs
    return build_instance(InstanceSpec(**spec), catalog, traces)  # type: ignore[arg-type]


def test_traces_are_read_and_clipped(inputs: tuple[Catalog, Traces]) -> None:
    _, traces = inputs
    assert len(traces.philly) == 5
    assert len(traces.alibaba) == 4  # the never-scheduled pod is dropped
    for shape in (*traces.philly, *traces.alibaba):
        assert 900 <= shape.runtime_s <= 12 * 3600
        assert shape.gpu_count <= 8
    # More steps within a job type: no shorter a runtime.
    resnet = [s for s in traces.philly if s.trace_id in ("philly-0000", "philly-0001")]
    assert resnet[0].runtime_s >= resnet[1].runtime_s


def test_builder_makes_a_valid_problem(inputs: tuple[Catalog, Traces]) -> None:
    built = build(inputs, jobs=300, seed=3)
    p = built.problem
    assert len(p.jobs) == 300
    assert len({j.id for j in p.jobs}) == 300
    assert len({o.id for o in p.offerings}) == len(p.offerings) > 0
    assert {o.cloud for o in p.offerings} == {"aws", "gcp", "azure"}
    pools = {q.id for q in p.quota_pools}
    assert len(pools) == len(p.quota_pools)
    assert all(pool in pools for o in p.offerings for pool, _ in o.quota_draw)
    assert all(q.free >= 0 for q in p.quota_pools)
    for j in p.jobs:
        assert p.now <= j.earliest_start < j.deadline
        assert j.runtime_p_s >= j.runtime_s > 0
    tenants = {j.tenant for j in p.jobs}
    assert p.budgets and all(b.tenant in tenants and b.limit_micros > 0 for b in p.budgets)
    locations = {o.location for o in p.offerings}
    assert {(e.src, e.dst) for e in p.egress} == {
        (a, b) for a in locations for b in locations if a != b
    }
    assert int(str(built.info["classes"])) < 300  # arrays of identical tasks form classes
    # Deterministic: the same spec gives the same problem.
    assert build(inputs, jobs=300, seed=3).problem == p


def test_distinct_jobs_are_all_different(inputs: tuple[Catalog, Traces]) -> None:
    p = build(inputs, jobs=120, seed=1, distinct=True).problem
    assert len({signature(j) for j in p.jobs}) == 120


def test_per_job_cheapest_oversubscribes_the_contended_pools(
    inputs: tuple[Catalog, Traces],
) -> None:
    built = build(inputs, jobs=400, seed=2)
    result = check_plan(built.problem, built.cheapest, built.reference)
    assert result.quota_cells_over > 0
    assert sum(result.quota_overage.values()) > 0
    assert result.missed_deadlines == result.misfits == result.cost_mismatches == 0


def test_spot_has_pools_of_its_own_sized_by_spot_contention(
    inputs: tuple[Catalog, Traces],
) -> None:
    built = build(inputs, jobs=400, seed=2)
    p = built.problem
    for o in p.offerings:
        spot = o.market is solver.Market.SPOT
        assert all(is_spot(pool) == spot for pool, _ in o.quota_draw)
    assert built.info["spot_pools"] == sum(is_spot(q.id) for q in p.quota_pools) > 0
    # Spot quota is the scarce one: the per-job-cheapest placement overruns it.
    result = check_plan(p, built.cheapest, built.reference)
    assert result.quota_overage.get("spot vcpu", 0) + result.quota_overage.get("spot gpu", 0) > 0

    def spot_quota(b: BuiltInstance) -> float:
        return sum(q.free for q in b.problem.quota_pools if is_spot(q.id))

    def on_demand_quota(b: BuiltInstance) -> float:
        return sum(q.free for q in b.problem.quota_pools if not is_spot(q.id))

    more = build(inputs, jobs=400, seed=2, spot_contention=1.0)
    assert spot_quota(more) > spot_quota(built)
    assert on_demand_quota(more) == on_demand_quota(built)


def test_cost_target_needs_no_more_unplaced_than_greedy() -> None:
    def row(ratio: float, opt_unplaced: int, greedy_unplaced: int) -> run.Row:
        return {
            "instance": "x",
            "cost_vs_greedy": ratio,
            "optimizer": {"unplaced": opt_unplaced},
            "greedy": {"unplaced": greedy_unplaced},
        }

    assert run.cost_target(row(0.85, 0, 0))["pass"]
    assert run.cost_target(row(0.85, 1, 3))["pass"]
    assert not run.cost_target(row(0.85, 2, 1))["pass"]  # cheap by dropping jobs
    assert not run.cost_target(row(0.95, 0, 5))["pass"]


def _tiny() -> solver.Problem:
    off = solver.Offering(
        id="od",
        cloud="aws",
        region="r",
        zone="r",
        instance_type="m",
        market=solver.Market.ON_DEMAND,
        vcpus=4,
        memory_gib=16,
        gpu_count=0,
        gpu_type="",
        price_micros_per_hour=1_000_000,
        hazard_per_hour=0.0,
        launch_delay_s=60,
        quota_draw=(("aws/r/vcpu", 4.0),),
    )
    jobs = tuple(
        solver.Job(
            id=f"j{k}",
            vcpus=4,
            memory_gib=8,
            runtime_s=1800,
            runtime_p_s=2000,
            deadline=9000,
            tenant="t",
        )
        for k in range(2)
    )
    return solver.Problem(
        now=0,
        jobs=jobs,
        offerings=(off,),
        quota_pools=(solver.QuotaPool("aws/r/vcpu", 4.0),),
        budgets=(solver.Budget("t", 1_200_000, 0, 24 * 3600),),
    )


def test_checker_accepts_a_valid_plan_and_catches_broken_ones() -> None:
    p = _tiny()
    ok = {
        "j0": solver.Decision("j0", "od", 0, 516_667),
        "j1": solver.Decision("j1", "od", 3600, 516_667),
    }
    good = check_plan(p, ok)
    assert good.violations == 0 and good.cost_mismatches == 0
    assert good.placed == 2 and good.cost_micros == 2 * 516_667

    both_now = {**ok, "j1": solver.Decision("j1", "od", 0, 516_667)}
    assert check_plan(p, both_now).quota_cells_over == 1

    too_late = {**ok, "j1": solver.Decision("j1", "od", 2 * 3600, 516_667)}
    assert check_plan(p, too_late).missed_deadlines == 1

    off_grid = {**ok, "j1": solver.Decision("j1", "od", 1800, 516_667)}
    assert check_plan(p, off_grid).off_grid == 1

    poor = replace(p, budgets=(solver.Budget("t", 600_000, 0, 24 * 3600),))
    broke = check_plan(poor, ok)
    assert broke.budget_overruns == 1 and broke.budget_overrun_micros == 2 * 516_667 - 600_000

    missing = check_plan(p, {"j0": ok["j0"]})
    assert missing.missing == 1 and missing.violations == 1

    big = replace(p, jobs=(replace(p.jobs[0], vcpus=8), p.jobs[1]))
    assert check_plan(big, ok).misfits == 1


def test_reference_agrees_with_the_solver_on_cost() -> None:
    p = _tiny()
    plan = solver.solve_greedy(p)
    result = check_plan(p, plan.decisions, Reference(p))
    assert result.violations == 0
    assert result.cost_mismatches == 0


def test_runner_end_to_end(data_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = ["--data-dir", str(data_dir), "--sizes", "200", "--distinct", "100"]
    assert run.main([*argv, "--time-limit", "0.5", "--out", str(out), "--markdown"]) == 0
    doc = json.loads(out.read_text())
    assert doc["machine"]["cores"]
    names = [r["instance"] for r in doc["results"]]
    assert names == ["200", "100-distinct"]
    for row in doc["results"]:
        assert row["optimizer"]["check"]["violations"] == 0
        assert row["greedy"]["check"]["violations"] == 0
        assert row["cheapest"]["quota_cells_over"] >= 0
        assert row["exact"]["status"] == "optimal"  # tiny: SCIP proves it
        opt = row["optimizer"]
        assert row["exact"]["unplaced"] <= opt["unplaced"] + opt["late"]
    assert doc["targets"]
