"""Offline planning files: problem JSON -> ``solver.Problem``, ``solver.Plan`` <-> plan JSON.

The format is documented in docs/problem-format.md. Reading is strict: a bad file
raises :class:`scheduler.errors.InvalidArgument` whose ``field`` is the JSON path of
the culprit (``jobs[3].deadline``; ``$`` for the document itself, e.g. invalid JSON)
and whose ``problem`` says what is wrong. Conversion is pure; only ``load_*`` and
``write_plan`` touch files.
"""

from __future__ import annotations

from scheduler.problemfile._fields import parse_json
from scheduler.problemfile.plan import (
    load_plan,
    plan_from_json,
    plan_text,
    plan_to_json,
    reason_name,
    write_plan,
)
from scheduler.problemfile.problem import FORMAT_VERSION, load_problem, problem_from_json

__all__ = [
    "FORMAT_VERSION",
    "load_plan",
    "load_problem",
    "parse_json",
    "plan_from_json",
    "plan_text",
    "plan_to_json",
    "problem_from_json",
    "reason_name",
    "write_plan",
]
