""":class:`solver.model.Plan` <-> plan JSON (docs/problem-format.md, "The plan").

A plan file lists one decision per job, in the problem's job order, with money as
decimal strings in dollars and times as ISO-8601 UTC. ``Plan.warm`` stays out: it is
the optimizer's in-memory warm start, not something to keep in a file. A plan file
read back (``plan_from_json``) serves as ``skybatch solve --hint``.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import stat
import tempfile
from pathlib import Path
from typing import Final

from scheduler.errors import InvalidArgument
from scheduler.problemfile._fields import (
    ROOT,
    Fields,
    array,
    boolean,
    check_version,
    iso,
    money,
    number,
    read_json_file,
    string,
    time,
)
from scheduler.problemfile.problem import FORMAT_VERSION
from solver.model import Decision, Plan, Problem, Unplaced
from solver.money import from_micros

_PLAN: Final = (
    "format_version",
    "solver",
    "objective",
    "lower_bound",
    "unavoidable_penalty",
    "gap",
    "stats",
    "decisions",
)
_DECISION: Final = (
    "job_id",
    "placed",
    "offering_id",
    "start",
    "expected_cost",
    "late",
    "reason",
    "reason_text",
    "until",
)
#: Mode of a new plan file (an existing file keeps its own).
NEW_FILE_MODE: Final = 0o644


def reason_name(reason: Unplaced) -> str:
    """The name a plan file uses for a reason: ``Unplaced.QUOTA_FULL`` -> ``quota_full``."""
    return reason.name.lower()


def _dollars(micros: int) -> str:
    return str(from_micros(micros))


def _stat(value: float) -> float | int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    as_float = float(value)
    return as_float if math.isfinite(as_float) else None


def _decision_json(d: Decision) -> dict[str, object]:
    return {
        "job_id": d.job_id,
        "placed": d.placed,
        "offering_id": d.offering_id,
        "start": None if d.start is None else iso(d.start),
        "expected_cost": _dollars(d.expected_cost_micros),
        "late": d.late,
        "reason": None if d.reason is None else reason_name(d.reason),
        "reason_text": None if d.reason is None else d.reason.value,
        "until": None if d.until is None else iso(d.until),
    }


def plan_to_json(plan: Plan, problem: Problem) -> dict[str, object]:
    """The plan as a JSON-ready dict; decisions follow the order of ``problem.jobs``
    (a decision for a job the problem does not list, if any, comes last)."""
    order = {job.id: i for i, job in enumerate(problem.jobs)}
    decisions = sorted(
        plan.decisions.values(), key=lambda d: (order.get(d.job_id, len(order)), d.job_id)
    )
    gap = plan.gap
    return {
        "format_version": FORMAT_VERSION,
        "solver": plan.solver,
        "objective": _dollars(plan.objective_micros),
        "lower_bound": _dollars(plan.lower_bound_micros),
        "unavoidable_penalty": _dollars(plan.unavoidable_micros),
        "gap": gap if math.isfinite(gap) else None,
        "stats": {key: _stat(value) for key, value in sorted(plan.stats.items())},
        "decisions": [_decision_json(d) for d in decisions],
    }


def plan_text(plan: Plan, problem: Problem) -> str:
    """The plan file's text: :func:`plan_to_json`, indented, with a final newline."""
    return json.dumps(plan_to_json(plan, problem), indent=2, ensure_ascii=False) + "\n"


def write_plan(plan: Plan, problem: Problem, path: Path) -> None:
    """Write the plan file atomically: a temporary file beside ``path``, then a rename,
    so a reader (or a crash) never sees half a plan. ``OSError`` propagates."""
    text = plan_text(plan, problem)
    try:
        mode = stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        mode = NEW_FILE_MODE
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fchmod(f.fileno(), mode)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def load_plan(path: Path) -> Plan:
    """Read a plan file back (see :func:`plan_from_json`)."""
    return plan_from_json(read_json_file(path))


def plan_from_json(doc: object) -> Plan:
    """A parsed plan document to a ``Plan`` (without ``warm``), or :class:`InvalidArgument`.

    ``gap`` and ``reason_text`` are derived, so they are checked but not kept; a
    ``null`` stat is dropped.
    """
    if isinstance(doc, dict) and "jobs" in doc and "decisions" not in doc:
        raise InvalidArgument(ROOT, "this is a problem file, not a plan")
    check_version(doc, FORMAT_VERSION)
    top = Fields("", doc, _PLAN)
    if top.has("gap"):
        number(top.at("gap"), top.optional("gap"), maximum=None)
    decisions: dict[str, Decision] = {}
    for path, item in array("decisions", top.required("decisions")):
        decision = _decision(path, item)
        if decision.job_id in decisions:
            raise InvalidArgument(f"{path}.job_id", f"duplicate job {decision.job_id!r}")
        decisions[decision.job_id] = decision
    return Plan(
        decisions=decisions,
        objective_micros=money(top.at("objective"), top.required("objective"), minimum=None),
        lower_bound_micros=money(top.at("lower_bound"), top.required("lower_bound"), minimum=None),
        solver=string(top.at("solver"), top.required("solver")),
        stats=_stats(top.at("stats"), top.optional("stats")),
        unavoidable_micros=money(
            top.at("unavoidable_penalty"), top.optional("unavoidable_penalty") or "0"
        ),
    )


def _stats(path: str, value: object) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(path, "must be an object")
    f = Fields(path, value, known=value.keys())  # refuses duplicate keys
    return {
        str(key): number(f.at(str(key)), item, maximum=None)
        for key, item in value.items()
        if item is not None
    }


def _reason(path: str, value: object) -> Unplaced:
    known = [reason_name(r) for r in Unplaced]
    if not isinstance(value, str) or value not in known:
        raise InvalidArgument(path, f"must be one of {', '.join(known)}")
    return Unplaced[value.upper()]


def _decision(path: str, value: object) -> Decision:
    f = Fields(path, value, _DECISION)
    job_id = string(f.at("job_id"), f.required("job_id"))
    placed = boolean(f.at("placed"), f.required("placed"))
    offering_id = string(f.at("offering_id"), f.required("offering_id")) if placed else None
    start = time(f.at("start"), f.required("start")) if placed else None
    for key in ("offering_id", "start"):
        if not placed and f.has(key):
            raise InvalidArgument(f.at(key), "must be null when placed is false")
    late = boolean(f.at("late"), f.optional("late")) if f.has("late") else False
    if late and not placed:
        raise InvalidArgument(f.at("late"), "must be false when placed is false")
    reason = _reason(f.at("reason"), f.optional("reason")) if f.has("reason") else None
    if reason is None and not placed:
        raise InvalidArgument(f.at("reason"), "required when placed is false")
    if f.has("reason_text"):
        string(f.at("reason_text"), f.optional("reason_text"))
    return Decision(
        job_id=job_id,
        offering_id=offering_id,
        start=start,
        expected_cost_micros=money(f.at("expected_cost"), f.optional("expected_cost") or "0"),
        reason=reason,
        late=late,
        until=time(f.at("until"), f.optional("until")) if f.has("until") else None,
    )
