"""``skybatch solve`` as a user runs it: a real process on the documented example."""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "problem.json"


def skybatch(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scheduler", *args],
        capture_output=True,
        text=True,
        timeout=60,
    )


def check_decided(plan: dict[str, Any]) -> None:
    """Every job of the example decided once, in file order, money as decimal strings."""
    problem = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert [d["job_id"] for d in plan["decisions"]] == [j["id"] for j in problem["jobs"]]
    offerings = {o["id"] for o in problem["offerings"]}
    for key in ("objective", "lower_bound"):
        assert isinstance(plan[key], str) and Decimal(plan[key]) >= 0
    for d in plan["decisions"]:
        assert isinstance(d["expected_cost"], str)
        assert Decimal(d["expected_cost"]).as_tuple().exponent == -6
        if d["placed"]:
            assert d["offering_id"] in offerings and d["start"].endswith("Z")
        else:
            assert d["reason"] and d["reason_text"] and d["offering_id"] is None
    by_job = {d["job_id"]: d for d in plan["decisions"]}
    assert by_job["finetune-llm"]["reason"] == "no_offering"  # no offering has a GPU


@pytest.mark.parametrize("policy", ["optimizer", "greedy"])
def test_docs_example_solves_to_a_plan_file(tmp_path: Path, policy: str) -> None:
    out = tmp_path / "plan.json"
    res = skybatch("solve", str(EXAMPLE), "--out", str(out), "--policy", policy)
    assert res.returncode == 0, res.stderr
    plan = json.loads(out.read_text(encoding="utf-8"))
    assert plan["format_version"] == 1
    check_decided(plan)
    assert "placed on time" in res.stdout and "objective" in res.stdout
    assert f"plan written to {out}" in res.stdout
    assert "Traceback" not in res.stderr


def test_without_out_the_plan_goes_to_stdout_and_the_summary_to_stderr() -> None:
    res = skybatch("solve", str(EXAMPLE), "--time-limit", "1")
    assert res.returncode == 0, res.stderr
    check_decided(json.loads(res.stdout))
    assert "placed on time" in res.stderr


def test_a_plan_file_serves_as_hint(tmp_path: Path) -> None:
    first = tmp_path / "first.json"
    assert skybatch("solve", str(EXAMPLE), "--out", str(first)).returncode == 0
    second = tmp_path / "second.json"
    res = skybatch("solve", str(EXAMPLE), "--hint", str(first), "--out", str(second))
    assert res.returncode == 0, res.stderr
    check_decided(json.loads(second.read_text(encoding="utf-8")))


def _bad_copy(tmp_path: Path) -> Path:
    doc = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    doc["jobs"][3]["deadline"] = "2026-06-02T08:00:00"  # no zone
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc), encoding="utf-8")
    return bad


def test_bad_problem_exits_2_naming_the_field_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    res = skybatch("solve", str(_bad_copy(tmp_path)), "--out", str(out))
    assert res.returncode == 2
    assert "error: jobs[3].deadline: must be a timezone-aware ISO-8601 time" in res.stderr
    assert "Traceback" not in res.stderr and res.stdout == ""
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json"]


def test_bad_problem_leaves_an_existing_plan_alone(tmp_path: Path) -> None:
    out = tmp_path / "plan.json"
    out.write_text("previous", encoding="utf-8")
    res = skybatch("solve", str(_bad_copy(tmp_path)), "--out", str(out))
    assert res.returncode == 2
    assert out.read_text(encoding="utf-8") == "previous"


def test_invalid_json_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"format_version": 1,\n "now": }', encoding="utf-8")
    res = skybatch("solve", str(broken))
    assert res.returncode == 2 and "error: $: invalid JSON" in res.stderr
    assert "line 2 column" in res.stderr

    res = skybatch("solve", str(tmp_path / "missing.json"))
    assert res.returncode == 2 and "missing.json" in res.stderr

    res = skybatch("solve", str(EXAMPLE), "--hint", str(EXAMPLE))
    assert res.returncode == 2 and "--hint" in res.stderr

    res = skybatch("solve", str(EXAMPLE), "--time-limit", "0")
    assert res.returncode == 2 and "--time-limit" in res.stderr

    res = skybatch("solve", str(EXAMPLE), "--policy", "random")
    assert res.returncode == 2 and "usage" in res.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.json"]
