"""The cost-model benchmark's quick mode, end to end: real jobs on a local cloud whose
bill differs from its catalog, the bill ingested, the model refitted, the next period
predicted and planned better (``benchmarks/costmodel``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from libcloud.compute.types import NodeState

from adapters.local import LocalCloudConfig, LocalNodeDriver
from benchmarks.costmodel import run
from benchmarks.costmodel.report import CATALOG, V1
from benchmarks.costmodel.truth import DISCOUNTED_FAMILY


@pytest.mark.timeout(240)
def test_quick_benchmark_learns_the_hidden_prices(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    data_dir = tmp_path / "service"

    assert run.main(["--quick", "--out", str(out), "--data-dir", str(data_dir)]) == 0

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert [p["failed"] for p in doc["periods"]] == [0, 0]
    assert doc["periods"][1]["planned_with"] >= 1  # period 2 was planned with a fit
    price = doc["prediction"]["price"]
    before, after = price[CATALOG]["mape"], price[V1]["mape"]
    assert price[V1]["n"] > 0
    assert after < before
    assert after < 0.05
    family = next(p for p in doc["learned"]["prices"] if p["key"] == DISCOUNTED_FAMILY)
    assert family[V1] < 0.8
    plans = doc["plans"]
    assert plans[V1]["true_cost"] <= plans[CATALOG]["true_cost"]
    assert plans[V1]["unplaced"] <= plans[CATALOG]["unplaced"]

    # Every node the benchmark launched is terminated and its processes are gone.
    driver = LocalNodeDriver(LocalCloudConfig(state_dir=data_dir / "local-cloud"))
    nodes = driver.list_nodes()
    assert nodes
    assert all(n.state == NodeState.TERMINATED for n in nodes)
    assert not any(driver.ex_node_alive(n) for n in nodes)
