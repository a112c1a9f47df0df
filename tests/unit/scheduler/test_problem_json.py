"""Problem / plan JSON: exact conversion, every class of error with its JSON path,
and the round trip problem -> solve -> plan JSON -> plan.

Solver results are checked by invariants that any correct policy keeps, not by
costs, except where a tiny problem has a single obvious answer.
"""

from __future__ import annotations

import copy
import json
import re
import stat
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import solver
from scheduler.errors import InvalidArgument
from scheduler.problemfile import (
    load_plan,
    load_problem,
    parse_json,
    plan_from_json,
    plan_text,
    plan_to_json,
    problem_from_json,
    write_plan,
)
from solver.model import Market, Plan, Problem

ROOT = Path(__file__).resolve().parents[3]
EXAMPLE = ROOT / "docs" / "examples" / "problem.json"
FORMAT_DOC = ROOT / "docs" / "problem-format.md"
DOLLARS = re.compile(r"^-?[0-9]+\.[0-9]{6}$")
Doc = dict[str, Any]
Policy = Callable[[Problem], Plan]
POLICIES: dict[str, Policy] = {
    "optimizer": lambda p: solver.solve(p, time_limit_s=5.0),
    "greedy": solver.solve_greedy,
}


def epoch(text: str) -> int:
    return int(datetime.fromisoformat(text).timestamp())


def minimal() -> Doc:
    """One job, one on-demand offering with room for it."""
    return {
        "format_version": 1,
        "now": "2026-06-01T08:00:00Z",
        "jobs": [
            {
                "id": "j1",
                "vcpus": 2,
                "memory_gib": 4,
                "runtime_seconds": 3600,
                "deadline": "2026-06-01T20:00:00Z",
            }
        ],
        "offerings": [
            {
                "id": "c/r1/small/on-demand",
                "cloud": "c",
                "region": "r1",
                "instance_type": "small",
                "market": "on-demand",
                "vcpus": 4,
                "memory_gib": 16,
                "price_per_hour": "0.0416",
                "quota_draw": {"c:r1:vcpu": 4},
            }
        ],
        "quota_pools": [{"id": "c:r1:vcpu", "free": 8}],
    }


def from_text(text: str) -> Problem:
    return problem_from_json(parse_json(text))


def refusal(doc: object) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        problem_from_json(doc)
    return info.value


def text_refusal(text: str) -> InvalidArgument:
    with pytest.raises(InvalidArgument) as info:
        from_text(text)
    return info.value


# --- conversion ---------------------------------------------------------------------


def test_example_converts_exactly() -> None:
    p = load_problem(EXAMPLE)
    assert p.now == epoch("2026-06-01T08:00:00+00:00")
    assert (p.slot_s, p.horizon_slots) == (3600, 24)
    assert p.unplaced_penalty_micros == 10**12
    assert (p.egress_same_cloud_micros_per_gb, p.egress_cross_cloud_micros_per_gb) == (
        20_000,
        90_000,
    )
    jobs = {j.id: j for j in p.jobs}
    assert [j.id for j in p.jobs] == ["etl-nightly", "train-small", "report", "finetune-llm"]
    # an offset is as good as Z: 18:00+02:00 is 16:00 UTC
    assert jobs["train-small"].deadline == epoch("2026-06-01T16:00:00+00:00")
    assert jobs["train-small"].allowed_clouds == frozenset({"gcp"})
    assert not jobs["train-small"].spot_allowed
    etl = jobs["etl-nightly"]
    assert (etl.runtime_s, etl.runtime_p_s, etl.checkpoint_interval_s) == (5400, 7200, 600)
    assert (etl.data_location, etl.data_gb, etl.tenant) == ("aws:us-east-1", 50.0, "analytics")
    report = jobs["report"]
    assert report.runtime_p_s == report.runtime_s == 900  # defaults to the estimate
    assert report.earliest_start == epoch("2026-06-01T09:00:00+00:00")
    assert report.spot_allowed  # default
    assert (jobs["finetune-llm"].gpu_count, jobs["finetune-llm"].gpu_type) == (1, "A100")

    offs = {o.id: o for o in p.offerings}
    od = offs["aws/us-east-1/m5.2xlarge/on-demand"]
    spot = offs["aws/us-east-1/m5.2xlarge/spot"]
    gcp = offs["gcp/europe-west4/n2-standard-8/on-demand"]
    assert od.market is Market.ON_DEMAND and spot.market is Market.SPOT
    assert (od.price_micros_per_hour, spot.price_micros_per_hour) == (384_000, 115_200)
    assert spot.price_micros_by_slot == (115_200, 115_200, 96_000)
    assert spot.hazard_per_hour == 0.05 and spot.launch_delay_s == 120
    # the three spellings of a quota draw mean the same thing
    assert od.quota_draw == (("aws:us-east-1:vcpu", 8.0),)
    assert spot.quota_draw == (("aws:us-east-1:spot-vcpu", 8.0),)
    assert gcp.quota_draw == (("gcp:europe-west4:vcpu", 8.0),)

    pools = {q.id: q for q in p.quota_pools}
    assert pools["aws:us-east-1:spot-vcpu"].free_by_slot == (8.0, 8.0, 16.0)
    research, analytics = p.budgets
    assert research.limit_micros == 5_000_000
    assert (research.window_start, research.window_end) == (p.now, p.horizon_end)
    assert analytics.limit_micros == 2_500_000
    assert analytics.window_end == epoch("2026-06-01T14:00:00+00:00")
    [egress] = p.egress
    assert (egress.src, egress.dst, egress.micros_per_gb) == (
        "aws:us-east-1",
        "gcp:europe-west4",
        50_000,
    )


def test_defaults_are_the_solvers() -> None:
    p = problem_from_json(minimal())
    model = Problem(now=0, jobs=(), offerings=())
    assert (p.slot_s, p.horizon_slots, p.unplaced_penalty_micros) == (
        model.slot_s,
        model.horizon_slots,
        model.unplaced_penalty_micros,
    )
    [job] = p.jobs
    assert (job.tenant, job.earliest_start, job.gpu_count, job.spot_allowed) == (
        "default",
        0,
        0,
        True,
    )
    assert p.budgets == () and p.egress == ()


@pytest.mark.parametrize(
    ("literal", "micros"),
    [
        ('"0.0416"', 41_600),
        ("0.0416", 41_600),  # a JSON number, parsed exactly (never through float)
        ("0.1", 100_000),
        ("1e-6", 1),
        ("3", 3_000_000),
        ('"123456789.123456"', 123_456_789_123_456),
        ('"0.0000005"', 0),  # below a micro-dollar: rounded half to even
        ('"0.0000015"', 2),
    ],
)
def test_money_is_exact(literal: str, micros: int) -> None:
    text = json.dumps(minimal()).replace('"0.0416"', literal)
    assert from_text(text).offerings[0].price_micros_per_hour == micros


def test_plain_json_loads_output_is_accepted_and_money_stays_exact() -> None:
    doc = json.loads(json.dumps(minimal()).replace('"0.0416"', "0.0416"))
    assert isinstance(doc["offerings"][0]["price_per_hour"], float)
    assert problem_from_json(doc).offerings[0].price_micros_per_hour == 41_600


def test_null_means_absent() -> None:
    doc = minimal()
    doc["jobs"][0]["earliest_start"] = None
    doc["budgets"] = None
    p = problem_from_json(doc)
    assert p.jobs[0].earliest_start == 0 and p.budgets == ()


def test_sub_second_times_round_down() -> None:
    doc = minimal()
    doc["jobs"][0]["deadline"] = "2026-06-01T20:00:00.999+00:00"
    assert problem_from_json(doc).jobs[0].deadline == epoch("2026-06-01T20:00:00+00:00")


# --- errors: each names the JSON path of the culprit --------------------------------

Mutation = Callable[[Doc], None]


def _set(path: str, value: object) -> Mutation:
    """``"jobs.0.vcpus"`` -> set ``doc["jobs"][0]["vcpus"] = value``."""

    def mutate(doc: Doc) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        node[int(last) if last.isdigit() else last] = value

    return mutate


def _delete(path: str) -> Mutation:
    def mutate(doc: Doc) -> None:
        *parents, last = path.split(".")
        node: Any = doc
        for part in parents:
            node = node[int(part)] if part.isdigit() else node[part]
        del node[last]

    return mutate


def _second_job(doc: Doc) -> None:
    doc["jobs"].append(copy.deepcopy(doc["jobs"][0]))


def _second_offering(doc: Doc) -> None:
    doc["offerings"].append(copy.deepcopy(doc["offerings"][0]))


BAD: list[tuple[str, Mutation, str, str]] = [
    # (case, mutation, field, words in the problem)
    ("missing required", _delete("jobs.0.deadline"), "jobs[0].deadline", "required"),
    ("missing top-level", _delete("now"), "now", "required"),
    ("missing offerings", _delete("offerings"), "offerings", "required"),
    ("null required", _set("jobs.0.vcpus", None), "jobs[0].vcpus", "required"),
    ("wrong type", _set("jobs.0.vcpus", "four"), "jobs[0].vcpus", "must be a number"),
    ("bool is no number", _set("jobs.0.vcpus", True), "jobs[0].vcpus", "must be a number"),
    ("not an array", _set("jobs", {}), "jobs", "must be an array"),
    ("not an object", _set("jobs.0", "j1"), "jobs[0]", "must be an object"),
    ("bool field", _set("jobs.0.spot_allowed", "yes"), "jobs[0].spot_allowed", "true or false"),
    (
        "naive datetime",
        _set("jobs.0.deadline", "2026-06-01T20:00:00"),
        "jobs[0].deadline",
        "must be a timezone-aware ISO-8601 time",
    ),
    (
        "date without time",
        _set("now", "2026-06-01"),
        "now",
        "must be a timezone-aware ISO-8601 time",
    ),
    (
        "not a time",
        _set("jobs.0.deadline", "tomorrow"),
        "jobs[0].deadline",
        "must be a timezone-aware ISO-8601 time",
    ),
    ("epoch number", _set("now", 1780000000), "now", "must be a timezone-aware ISO-8601 time"),
    (
        "negative runtime",
        _set("jobs.0.runtime_seconds", -5),
        "jobs[0].runtime_seconds",
        "must be > 0",
    ),
    ("zero runtime", _set("jobs.0.runtime_seconds", 0), "jobs[0].runtime_seconds", "must be > 0"),
    (
        "pessimistic below estimate",
        _set("jobs.0.runtime_p_seconds", 60),
        "jobs[0].runtime_p_seconds",
        "must be >= runtime_seconds",
    ),
    (
        "negative price",
        _set("offerings.0.price_per_hour", "-0.01"),
        "offerings[0].price_per_hour",
        "must be >= 0",
    ),
    (
        "price not an amount",
        _set("offerings.0.price_per_hour", "$0.04"),
        "offerings[0].price_per_hour",
        "not an amount in dollars",
    ),
    (
        "NaN as a money string",
        _set("offerings.0.price_per_hour", "NaN"),
        "offerings[0].price_per_hour",
        "not an amount in dollars",
    ),
    ("absurd amount", _set("unplaced_penalty", 10**30), "unplaced_penalty", "must be at most"),
    ("unknown field", _set("jobs.0.dealine", "x"), "jobs[0].dealine", "unknown field"),
    ("unknown top-level field", _set("horizon", 24), "horizon", "unknown field"),
    ("duplicate job id", _second_job, "jobs[1].id", "duplicate id 'j1'"),
    (
        "duplicate offering id",
        _second_offering,
        "offerings[1].id",
        "duplicate id 'c/r1/small/on-demand'",
    ),
    (
        "unknown quota pool",
        _set("offerings.0.quota_draw", {"c:r1:gpu": 1}),
        "offerings[0].quota_draw['c:r1:gpu']",
        "refers to unknown quota pool 'c:r1:gpu'",
    ),
    (
        "bad draw item",
        _set("offerings.0.quota_draw", ["c:r1:vcpu"]),
        "offerings[0].quota_draw[0]",
        'must be ["pool", amount]',
    ),
    (
        "unknown market",
        _set("offerings.0.market", "reserved"),
        "offerings[0].market",
        "must be one of 'on-demand', 'spot'",
    ),
    (
        "gpus without a type",
        _set("jobs.0.gpu_count", 2),
        "jobs[0].gpu_type",
        "required when gpu_count > 0",
    ),
    ("fractional count", _set("horizon_slots", 1.5), "horizon_slots", "whole number"),
    ("empty horizon", _set("horizon_slots", 0), "horizon_slots", "must be >= 1"),
    ("empty id", _set("jobs.0.id", " "), "jobs[0].id", "must not be empty"),
    (
        "bad location",
        _set("jobs.0.data_location", "us-east-1"),
        "jobs[0].data_location",
        '"cloud:region"',
    ),
    (
        "data nowhere",
        _set("jobs.0.data_gb", 10),
        "jobs[0].data_location",
        "required when data_gb > 0",
    ),
    (
        "price series disagrees with now",
        _set("offerings.0.price_by_slot", ["0.05", "0.04"]),
        "offerings[0].price_by_slot[0]",
        "must equal price_per_hour",
    ),
    (
        "negative price in series",
        _set("offerings.0.price_by_slot", ["0.0416", "-1"]),
        "offerings[0].price_by_slot[1]",
        "must be >= 0",
    ),
    (
        "negative free quota",
        _set("quota_pools.0.free", -1),
        "quota_pools[0].free",
        "must be >= 0",
    ),
    (
        "budget window backwards",
        _set(
            "budgets",
            [{"tenant": "t", "limit": "1", "window_start": "2026-06-01T10:00:00Z",
              "window_end": "2026-06-01T09:00:00Z"}],
        ),
        "budgets[0].window_end",
        "must be after window_start",
    ),
    (
        "duplicate egress pair",
        _set(
            "egress",
            [{"src": "a:x", "dst": "b:y", "per_gb": "0.01"}] * 2,
        ),
        "egress[1]",
        "duplicate pair a:x -> b:y",
    ),
    ("other format version", _set("format_version", 2), "format_version", "unsupported"),
    ("no format version", _delete("format_version"), "format_version", "required"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [pytest.param(m, f, p, id=case) for case, m, f, p in BAD],
)
def test_bad_field_is_refused_with_its_path(mutate: Mutation, field: str, problem: str) -> None:
    doc = minimal()
    mutate(doc)
    err = refusal(doc)
    assert err.field == field
    assert problem in err.problem
    assert str(err) == f"{field}: {err.problem}"


def test_a_document_that_is_not_an_object_is_refused_at_the_root() -> None:
    err = refusal([minimal()])
    assert (err.field, err.problem) == ("$", "must be an object")


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_refused_with_their_path(literal: str) -> None:
    doc = minimal()
    doc["offerings"][0]["hazard_per_hour"] = "__X__"
    err = text_refusal(json.dumps(doc).replace('"__X__"', literal))
    assert err.field == "offerings[0].hazard_per_hour"
    assert "finite" in err.problem


def test_nan_money_number_is_refused() -> None:
    text = json.dumps(minimal()).replace('"0.0416"', "NaN")
    err = text_refusal(text)
    assert err.field == "offerings[0].price_per_hour" and "finite" in err.problem


def test_number_too_large_for_a_float_is_refused() -> None:
    doc = minimal()
    doc["jobs"][0]["memory_gib"] = "__X__"
    err = text_refusal(json.dumps(doc).replace('"__X__"', "1e400"))
    assert err.field == "jobs[0].memory_gib" and "finite" in err.problem


def test_invalid_json_is_refused_at_the_root_with_line_and_column() -> None:
    err = text_refusal('{\n  "format_version": 1,\n  "now": ,\n}')
    assert err.field == "$"
    assert "invalid JSON" in err.problem and "line 3 column 10" in err.problem


def test_duplicate_key_is_refused_with_its_path() -> None:
    text = json.dumps(minimal()).replace('"vcpus": 2,', '"vcpus": 2, "vcpus": 3,', 1)
    err = text_refusal(text)
    assert (err.field, err.problem) == ("jobs[0].vcpus", "duplicate key")


def test_unreadable_file_is_refused_by_its_name(tmp_path: Path) -> None:
    missing = tmp_path / "nope.json"
    with pytest.raises(InvalidArgument) as info:
        load_problem(missing)
    assert info.value.field == str(missing)
    (tmp_path / "binary.json").write_bytes(b"\xff\xfe\x00{")
    with pytest.raises(InvalidArgument) as info:
        load_problem(tmp_path / "binary.json")
    assert info.value.field == "$"


# --- solving: invariants any correct policy keeps ----------------------------------


def check_plan(problem: Problem, doc: Doc) -> None:
    """The plan JSON is well formed and keeps every promise it makes."""
    assert doc["format_version"] == 1 and isinstance(doc["solver"], str)
    for key in ("objective", "lower_bound"):
        assert DOLLARS.match(doc[key]), doc[key]
    assert Decimal(doc["lower_bound"]) <= Decimal(doc["objective"])
    assert [d["job_id"] for d in doc["decisions"]] == [j.id for j in problem.jobs]
    jobs = {j.id: j for j in problem.jobs}
    offs = {o.id: o for o in problem.offerings}
    held: list[tuple[int, int, str]] = []  # (start, end, offering id) of placed jobs
    for d in doc["decisions"]:
        assert DOLLARS.match(d["expected_cost"]), d
        job = jobs[d["job_id"]]
        if not d["placed"]:
            assert d["offering_id"] is None and d["start"] is None and not d["late"]
            assert d["reason"] and d["reason_text"]
            continue
        off = offs[d["offering_id"]]
        start = epoch(d["start"])
        assert d["start"].endswith("Z")
        assert start >= problem.now and start >= job.earliest_start
        end = start + off.launch_delay_s + job.runtime_p_s
        if not d["late"]:
            assert d["reason"] is None
            assert end <= job.deadline, d
        held.append((start, end, off.id))
    for pool in problem.quota_pools:
        for t in range(problem.horizon_slots):
            lo = problem.now + t * problem.slot_s
            hi = lo + problem.slot_s
            used = sum(
                amount
                for start, end, oid in held
                if start < hi and end > lo
                for pid, amount in offs[oid].quota_draw
                if pid == pool.id
            )
            assert used <= pool.free_in(t) + 1e-9, (pool.id, t)
    for b in problem.budgets:
        spent = sum(
            Decimal(d["expected_cost"])
            for d in doc["decisions"]
            if d["placed"]
            and jobs[d["job_id"]].tenant == b.tenant
            and b.window_start <= epoch(d["start"]) < b.window_end
        )
        assert solver.money_to_micros(spent) <= b.limit_micros, b


@pytest.mark.parametrize("policy", POLICIES)
def test_example_round_trips_through_solve_and_plan_json(policy: str) -> None:
    problem = load_problem(EXAMPLE)
    plan = POLICIES[policy](problem)
    doc = json.loads(plan_text(plan, problem))
    assert doc == json.loads(json.dumps(plan_to_json(plan, problem)))
    check_plan(problem, doc)
    assert "warm" not in doc
    by_job = {d["job_id"]: d for d in doc["decisions"]}
    # no offering has a GPU: the one obvious answer in the example
    assert by_job["finetune-llm"]["reason"] == "no_offering"
    assert by_job["finetune-llm"]["reason_text"] == solver.Unplaced.NO_OFFERING.value
    back = plan_from_json(parse_json(plan_text(plan, problem)))
    assert back == replace(plan, warm=None)


@pytest.mark.parametrize("policy", POLICIES)
def test_one_job_one_cheap_offering_with_room_is_placed_on_it(policy: str) -> None:
    problem = problem_from_json(minimal())
    doc = json.loads(plan_text(POLICIES[policy](problem), problem))
    check_plan(problem, doc)
    [d] = doc["decisions"]
    assert d["placed"] and not d["late"] and d["offering_id"] == "c/r1/small/on-demand"
    assert Decimal(d["expected_cost"]) > 0


@pytest.mark.parametrize("policy", POLICIES)
def test_a_full_pool_leaves_the_job_unplaced_with_a_reason(policy: str) -> None:
    doc = minimal()
    doc["quota_pools"][0]["free"] = 0
    problem = problem_from_json(doc)
    out = json.loads(plan_text(POLICIES[policy](problem), problem))
    check_plan(problem, out)
    [d] = out["decisions"]
    assert not d["placed"] and d["reason"] == "quota_full"


# --- plan files ---------------------------------------------------------------------


def test_write_plan_is_atomic_and_keeps_an_existing_files_mode(tmp_path: Path) -> None:
    problem = load_problem(EXAMPLE)
    plan = solver.solve_greedy(problem)
    out = tmp_path / "plan.json"
    write_plan(plan, problem, out)
    assert load_plan(out) == replace(plan, warm=None)
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    out.chmod(0o600)
    write_plan(plan, problem, out)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]  # no temp file left
    with pytest.raises(OSError):
        write_plan(plan, problem, tmp_path / "no-such-dir" / "plan.json")
    assert [p.name for p in tmp_path.iterdir()] == ["plan.json"]


def test_plan_times_are_utc_and_unplaced_fields_are_null() -> None:
    problem = problem_from_json(minimal())
    plan = Plan(
        decisions={
            "j1": solver.Decision("j1", None, None, reason=solver.Unplaced.BUDGET, until=0),
        },
        objective_micros=10**12,
        lower_bound_micros=0,
        solver="test",
        stats={"nan": float("nan"), "rounds": 3},
    )
    doc = json.loads(plan_text(plan, problem))
    assert doc["gap"] is None  # infinite: JSON has no Infinity
    assert doc["stats"] == {"nan": None, "rounds": 3}
    [d] = doc["decisions"]
    assert d["until"] == "1970-01-01T00:00:00Z" and d["reason"] == "budget"
    assert plan_from_json(doc).stats == {"rounds": 3.0}


PLAN_BAD: list[tuple[str, Mutation, str, str]] = [
    ("placed without offering", _delete("decisions.0.offering_id"),
     "decisions[0].offering_id", "required"),
    ("unknown reason", _set("decisions.3.reason", "too_pricey"),
     "decisions[3].reason", "must be one of"),
    ("unplaced with a start", _set("decisions.3.start", "2026-06-01T08:00:00Z"),
     "decisions[3].start", "must be null when placed is false"),
    ("unplaced without reason", _set("decisions.3.reason", None),
     "decisions[3].reason", "required when placed is false"),
    ("cost as float garbage", _set("objective", "1,5"), "objective", "not an amount"),
    ("unknown field", _set("warm", {}), "warm", "unknown field"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mutate", "field", "problem"),
    [pytest.param(m, f, p, id=case) for case, m, f, p in PLAN_BAD],
)
def test_bad_plan_is_refused_with_its_path(mutate: Mutation, field: str, problem: str) -> None:
    plan_problem = load_problem(EXAMPLE)
    doc = json.loads(plan_text(solver.solve_greedy(plan_problem), plan_problem))
    mutate(doc)
    with pytest.raises(InvalidArgument) as info:
        plan_from_json(doc)
    assert info.value.field == field and problem in info.value.problem


def test_a_problem_file_is_not_a_plan() -> None:
    with pytest.raises(InvalidArgument) as info:
        load_plan(EXAMPLE)
    assert info.value.field == "$" and "problem file" in info.value.problem


# --- the documentation ---------------------------------------------------------------


def _json_blocks(markdown: str) -> list[object]:
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", markdown, re.S)]


def test_docs_show_the_shipped_example_and_a_valid_plan() -> None:
    blocks = _json_blocks(FORMAT_DOC.read_text(encoding="utf-8"))
    problems = [b for b in blocks if isinstance(b, dict) and "jobs" in b]
    plans = [b for b in blocks if isinstance(b, dict) and "decisions" in b]
    assert problems == [json.loads(EXAMPLE.read_text(encoding="utf-8"))]
    assert len(plans) == 1
    plan = plan_from_json(plans[0])
    assert set(plan.decisions) == {j.id for j in load_problem(EXAMPLE).jobs}
