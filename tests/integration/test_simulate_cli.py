"""``skybatch simulate``: a scenario file in, a comparison table, JSON, CSV and one store
per run out; bad scenarios refused naming the field."""

from __future__ import annotations

import csv
import json
from importlib.util import find_spec
from pathlib import Path

import pytest
import yaml

from scheduler.cli.main import main

EXAMPLE = Path(__file__).parents[2] / "docs" / "examples" / "what_if.yaml"


def small(tmp_path: Path, **changes: object) -> Path:
    doc = yaml.safe_load(EXAMPLE.read_text())
    doc["workload"]["data_dir"] = str(EXAMPLE.parent / doc["workload"]["data_dir"])
    doc["workload"]["jobs"] = 25
    doc["policies"] = ["optimizer"]
    doc["variants"] = [
        {"name": "baseline"},
        {"name": "quota-halved", "set": {"clouds.quota_factor": 0.5}},
    ]
    doc.update(changes)
    path = tmp_path / "scenario.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


def test_a_sweep_runs_every_point_and_leaves_a_store_per_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = small(tmp_path, policies=["optimizer", "greedy"])
    out = tmp_path / "out"
    assert main(["simulate", str(scenario), "--out", str(out), "--workers", "2"]) == 0
    printed = capsys.readouterr().out
    assert "quota-halved" in printed and "greedy" in printed
    doc = json.loads((out / "results.json").read_text())
    runs = doc["runs"]
    assert [(r["point"], r["policy"]) for r in runs] == [
        ("baseline", "optimizer"),
        ("baseline", "greedy"),
        ("quota-halved", "optimizer"),
        ("quota-halved", "greedy"),
    ]
    assert all(r["jobs"] == 25 for r in runs)
    assert all(r["cost_vs_first_policy"] is not None for r in runs)
    assert runs[0]["cost_vs_first_policy"] == 1.0
    with (out / "results.csv").open() as f:
        assert len(list(csv.DictReader(f))) == 4
    for r in runs:
        store = Path(r["store"].removeprefix("sqlite:///"))
        assert store.is_file() and store.parent.parent.parent == out
    # The simulation's store is an ordinary store: the SLA report reads it.
    assert (
        main(["report", "sla", "--db-url", runs[0]["store"], "--out", str(tmp_path / "sla")]) == 0
    )
    assert (tmp_path / "sla").is_dir() and any((tmp_path / "sla").iterdir())


def test_runs_are_deterministic_in_a_pool_and_serially(tmp_path: Path) -> None:
    scenario = small(tmp_path)
    serial, pooled = tmp_path / "serial", tmp_path / "pooled"
    assert main(["simulate", str(scenario), "--out", str(serial), "--workers", "1"]) == 0
    assert main(["simulate", str(scenario), "--out", str(pooled), "--workers", "2"]) == 0

    def costs(out: Path) -> list[tuple[str, str, int]]:
        runs = json.loads((out / "results.json").read_text())["runs"]
        return [(r["point"], r["cost"], r["preemptions"]) for r in runs]

    assert costs(serial) == costs(pooled)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"policies": ["optimiser"]}, "policies[0]: unknown policy 'optimiser'"),
        ({"workload": {"trace": "philly", "deadline": {"slack": 0.5}}}, "workload.deadline.slack"),
        ({"workload": {"trace": "borg"}}, "workload.trace"),
        (
            {"clouds": {"catalog": "aws-bundled", "quota_factr": 2}},
            "clouds.quota_factr: unknown field",
        ),
        ({"grid": {"workload.load": []}}, "grid.workload.load"),
        (
            {"variants": [{"name": "x", "set": {"workload.spot_share": 3}}]},
            "x: workload.spot_share",
        ),
    ],
)
def test_a_bad_scenario_is_refused_naming_the_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], change: dict[str, object], message: str
) -> None:
    scenario = small(tmp_path, **change)
    out = tmp_path / "out"
    assert main(["simulate", str(scenario), "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()  # nothing ran


def test_a_grid_multiplies_the_variants(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    scenario = small(
        tmp_path,
        variants=[{"name": "base"}],
        grid={"clouds.hazard_multiplier": [1.0, 2.0], "workload.load": [1.0, 2.0]},
    )
    out = tmp_path / "out"
    assert main(["simulate", str(scenario), "--out", str(out)]) == 0
    points = [r["point"] for r in json.loads((out / "results.json").read_text())["runs"]]
    assert points == [
        "base[hazard_multiplier=1.0,load=1.0]",
        "base[hazard_multiplier=1.0,load=2.0]",
        "base[hazard_multiplier=2.0,load=1.0]",
        "base[hazard_multiplier=2.0,load=2.0]",
    ]


@pytest.mark.skipif(find_spec("ray") is not None, reason="Ray is installed here")
def test_ray_without_ray_installed_says_how_to_get_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = small(tmp_path, variants=[{"name": "base"}])
    code = main(["simulate", str(scenario), "--out", str(tmp_path / "o"), "--ray-address", "auto"])
    assert code == 1
    assert "needs Ray (pip install ray)" in capsys.readouterr().err
