"""Workloads from trace files: arrivals compressed into a span, estimates off by a seeded
error, deadlines by rule, GPU models the offerings sell."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from adapters.base import Market, Offering
from adapters.traces.workloads import ALIBABA_PODS, PHILLY_RUNTIMES, PHILLY_TRACE
from scheduler.sim import (
    DeadlineRule,
    EstimateError,
    WorkloadRule,
    alibaba_workload,
    philly_workload,
)

PHILLY_ROWS = [
    # job type, command, steps arg, needs data dir, total steps, arrival (s), GPUs
    ("ResNet-18 (batch size 32)", "python3 main.py", "--num_steps", "1", "52322", "100.0", "1"),
    ("ResNet-18 (batch size 32)", "python3 main.py", "--num_steps", "1", "9000", "3700.0", "4"),
    ("Transformer (batch size 64)", "python3 train.py", "-step", "1", "220633", "7300.0", "8"),
    ("A3C", "python3 main.py", "--max-steps", "0", "400000", "10900.0", "16"),
]
ALIBABA_ROWS = [
    "name,cpu_milli,memory_mib,num_gpu,gpu_milli,gpu_spec,qos,pod_phase,"
    "creation_time,deletion_time,scheduled_time",
    "pod-0,12000,16384,1,1000,,LS,Running,1000,13537,1000",
    "pod-1,6000,12288,1,460,,BE,Running,5000,90000,5000",
    "pod-2,4000,8192,0,0,,BE,Pending,9000,20000,",
]


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    for rel in (PHILLY_TRACE, PHILLY_RUNTIMES, ALIBABA_PODS):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / PHILLY_TRACE).write_text("".join("\t".join(r) + "\n" for r in PHILLY_ROWS))
    runtimes = [0, 600, 1800, 3600, 7200, 20000]
    (tmp_path / PHILLY_RUNTIMES).write_text("runtime\n" + "".join(f"{r}.0\n" for r in runtimes))
    (tmp_path / ALIBABA_PODS).write_text("\n".join(ALIBABA_ROWS) + "\n")
    return tmp_path


def gpu_offering(gpu: str, count: int, vcpus: float) -> Offering:
    return Offering(
        cloud="aws",
        region="us-east-1",
        zone="us-east-1",
        instance_type=f"{gpu}x{count}",
        market=Market.ON_DEMAND,
        vcpus=vcpus,
        memory_gib=8 * vcpus,
        gpu_count=count,
        gpu_type=gpu,
        price_per_hour=Decimal("1"),
    )


OFFERINGS = (gpu_offering("V100", 1, 8), gpu_offering("V100", 8, 16), gpu_offering("T4", 1, 4))


def test_philly_arrivals_are_compressed_into_the_span(data_dir: Path) -> None:
    rule = WorkloadRule(span_s=3600.0, offset_s=60.0)
    w = philly_workload(data_dir, rule, seed=0, offerings=OFFERINGS)
    assert [j.key for j in w.jobs] == ["philly-0000", "philly-0001", "philly-0002", "philly-0003"]
    # 10,800 s of recorded arrivals into 3,600 s, starting 60 s in.
    assert [j.arrival_s for j in w.jobs] == pytest.approx([60, 1260, 2460, 3660])
    assert w.jobs[0].labels == {"source": "philly", "class": "ResNet-18 (batch size 32)"}
    # 16 GPUs become one 8-GPU node; only V100 is sold with 4 or 8 on a node; requests
    # are capped to the largest node that has them (16 vCPUs).
    big = w.jobs[3]
    assert big.resources.gpu_count == 8 and big.resources.gpu_type == "V100"
    assert big.resources.vcpus == 16
    assert w.jobs[1].resources.gpu_type == "V100"


def test_estimates_and_deadlines_follow_the_rule_and_seed(data_dir: Path) -> None:
    exact = philly_workload(data_dir, WorkloadRule(deadline=DeadlineRule(slack=2.0)), seed=1)
    for j in exact.jobs:
        assert j.estimate_s == j.runtime_s
        assert j.deadline_s == pytest.approx(j.arrival_s + 2 * j.runtime_s)
    noisy = WorkloadRule(
        error=EstimateError(sigma=0.5, bias=1.2),
        deadline=DeadlineRule(slack=3.0, basis="estimate", min_s=7200),
    )
    a = philly_workload(data_dir, noisy, seed=1)
    assert a == philly_workload(data_dir, noisy, seed=1)
    assert [j.estimate_s for j in a.jobs] != [
        j.estimate_s for j in philly_workload(data_dir, noisy, seed=2).jobs
    ]
    for j in a.jobs:
        assert j.estimate_s != j.runtime_s
        assert j.deadline_s == pytest.approx(j.arrival_s + max(7200, 3 * j.estimate_s))
    absolute = philly_workload(data_dir, WorkloadRule(deadline=DeadlineRule(absolute_s=86400)))
    assert all(j.deadline_s == j.arrival_s + 86400 for j in absolute.jobs)


def test_alibaba_pods_with_their_requests(data_dir: Path) -> None:
    t4_only = (gpu_offering("T4", 1, 4),)
    w = alibaba_workload(data_dir, WorkloadRule(span_s=None), seed=0, offerings=t4_only)
    assert [j.key for j in w.jobs] == ["pod-0", "pod-1"]  # never scheduled: dropped
    assert [j.arrival_s for j in w.jobs] == [0.0, 4000.0]
    pod0 = w.jobs[0]
    assert pod0.runtime_s == 12537
    # Asked 12 vCPUs with a GPU; the only GPU node sold has 4.
    assert pod0.resources.vcpus == 4 and pod0.resources.gpu_type == "T4"
    assert pod0.labels["class"] == "LS"


def test_spot_share_and_tenants(data_dir: Path) -> None:
    rule = WorkloadRule(spot_share=0.0, tenants={"vision": 1.0, "nlp": 0.0})
    w = philly_workload(data_dir, rule, seed=3)
    assert not any(j.spot_allowed for j in w.jobs)
    assert {j.tenant for j in w.jobs} == {"vision"}
    with pytest.raises(ValueError):
        WorkloadRule(spot_share=1.5)
    with pytest.raises(ValueError):
        DeadlineRule(basis="truth")
