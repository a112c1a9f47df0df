"""The service benchmark's quick mode at tiny sizes, end to end: real ``skybatch serve``
processes driven from client processes; every section of the JSON is there with sane
numbers (no timing thresholds: this machine is shared)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from benchmarks.service import run


def positive(x: Any) -> bool:
    return isinstance(x, int | float) and math.isfinite(x) and x > 0


def assert_latency(r: dict[str, Any]) -> None:
    assert r["calls"] > 0
    assert r["errors"] == 0
    for key in ("calls_per_s", "p50_ms", "p99_ms"):
        assert positive(r[key]), (key, r)
    assert r["p50_ms"] <= r["p99_ms"]


@pytest.mark.timeout(240)
def test_quick_benchmark_measures_every_section(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    argv = ["--quick", "--repeat", "1", "--streams", "4", "--tick-jobs", "300"]
    assert run.main([*argv, "--out", str(out), "--work-dir", str(tmp_path / "work")]) == 0

    doc = json.loads(out.read_text(encoding="utf-8"))
    assert doc["machine"]["cores"] >= 1 and len(doc["load_average_after"]) == 3

    [batch] = doc["batch"]
    assert batch["jobs"] == doc["sizes"]["batch_procs"] * doc["sizes"]["batches"] * 200
    assert positive(batch["jobs_per_s"]) and positive(batch["server_cpu_ms_per_1000_jobs"])
    assert_latency(batch)
    assert [r["in_flight"] for r in doc["single"]] == list(doc["sizes"]["levels"])
    for r in (*doc["single"], doc["get"], doc["list"]):
        assert_latency(r)
        assert positive(r["server_cpu_ms_per_call"])

    watch = doc["watch"]
    assert watch["streams"] == 4
    for part in ("without_streams", "with_streams"):
        assert positive(watch[part]["submitted_jobs_per_s"])
        assert_latency(watch[part]["submit"])
        assert_latency(watch[part]["get"])
    streams = watch["with_streams"]
    # Every stream got events while the submissions ran, none failed.
    assert streams["streams_receiving"] == 4 and streams["min_events_per_stream"] > 0
    assert streams["stream_failures"] == []
    for key in ("events_per_s", "lag_p50_ms", "lag_p99_ms", "longest_silence_s"):
        assert positive(streams[key]), key
    assert positive(watch["submit_p99_ratio"]) and positive(watch["get_p99_ratio"])

    tick = doc["tick"]
    assert_latency(tick["idle"])
    assert_latency(tick["planning"])
    assert positive(tick["p99_ratio"])
    # The loop planned over all the pending jobs while the probe ran, and the plan
    # covered them: ExplainJob of one of them answers from it.
    assert tick["ticks_during_probe"] >= 1
    assert min(t["pending"] for t in tick["ticks"]) >= 300
    assert tick["explain"]["reason"] and tick["explain"]["considered"] > 0
    for server in ("idle_server", "planning_server"):
        assert positive(tick[server]["rss_mib"]) and positive(tick[server]["peak_rss_mib"])
    mem = doc["memory"]["api"]
    assert 0 < mem["rss_mib"] <= mem["peak_rss_mib"]
    assert doc["stored_jobs"] >= batch["jobs"]

    assert {t["target"].split(" ")[0] for t in doc["targets"]} >= {"batched", "single", "plan"}
    assert all(isinstance(t["pass"], bool) for t in doc["targets"])
