"""Job YAML: SkyPilot-flavoured job files -> :class:`JobSpec`.

One job per document, a list of jobs, or ``jobs: [...]``; several ``---`` documents
are fine too. Errors name the path of the bad field (``jobs[1].resources.cpus``).
See docs/job-yaml.md for the format.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import yaml

from scheduler.domain import JobSpec, Resources
from scheduler.errors import InvalidJobSpec

_KNOWN = {
    "name",
    "labels",
    "resources",
    "run",
    "command",
    "envs",
    "env",
    "estimated_runtime",
    "deadline",
    "checkpoint_interval",
    "request_id",
}
_KNOWN_RESOURCES = {"cpus", "memory", "accelerators", "use_spot", "cloud", "region", "any_of"}
_DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(d|h|m|s)")


def parse_duration(field: str, value: Any) -> timedelta:
    """``90``, ``"90s"``, ``"5m"``, ``"1h30m"``, ``"2d"`` -> timedelta."""
    if isinstance(value, bool):
        raise InvalidJobSpec(field, "expected a duration like 30s, 5m, 2h")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if not isinstance(value, str):
        raise InvalidJobSpec(field, "expected a duration like 30s, 5m, 2h")
    text = value.strip().lower().replace(" ", "")
    pos = 0
    total = 0.0
    unit = {"d": 86400, "h": 3600, "m": 60, "s": 1}
    for m in _DURATION.finditer(text):
        if m.start() != pos:
            break
        total += float(m.group(1)) * unit[m.group(2)]
        pos = m.end()
    if pos != len(text) or not text:
        raise InvalidJobSpec(field, f"{value!r} is not a duration like 30s, 5m, 1h30m")
    return timedelta(seconds=total)


def parse_deadline(field: str, value: Any, now: datetime) -> datetime:
    """``"+2h"`` (from now), an ISO 8601 timestamp with a zone, or a YAML timestamp."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidJobSpec(field, "timestamp needs a timezone (e.g. Z)")
        return value.astimezone(UTC)
    if isinstance(value, str) and value.strip().startswith("+"):
        return now + parse_duration(field, value.strip()[1:])
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            raise InvalidJobSpec(field, f"{value!r} is neither +DURATION nor ISO 8601") from None
        if parsed.tzinfo is None:
            raise InvalidJobSpec(field, "timestamp needs a timezone (e.g. Z)")
        return parsed.astimezone(UTC)
    raise InvalidJobSpec(field, "expected +DURATION or an ISO 8601 timestamp")


def _number(field: str, value: Any) -> float:
    text = str(value).strip().rstrip("+")
    try:
        return float(text)
    except ValueError:
        raise InvalidJobSpec(field, f"{value!r} is not a number") from None


def _str_map(field: str, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidJobSpec(field, "expected a mapping")
    return {str(k): "" if v is None else str(v) for k, v in value.items()}


def _str_list(field: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list):
        raise InvalidJobSpec(field, "expected a string or a list of strings")
    return tuple(str(v) for v in value)


def job_from_mapping(doc: Any, *, now: datetime, path: str = "") -> JobSpec:
    p = f"{path}." if path else ""
    if not isinstance(doc, Mapping):
        raise InvalidJobSpec(path or "job", "expected a mapping of job fields")
    unknown = set(doc) - _KNOWN
    if unknown:
        raise InvalidJobSpec(f"{p}{sorted(unknown)[0]}", f"unknown field (known: {sorted(_KNOWN)})")
    res = doc.get("resources") or {}
    if not isinstance(res, Mapping):
        raise InvalidJobSpec(f"{p}resources", "expected a mapping")
    bad = set(res) - _KNOWN_RESOURCES
    if bad:
        raise InvalidJobSpec(f"{p}resources.{sorted(bad)[0]}", "unknown field")
    gpu_type, gpu_count = "", 0
    if res.get("accelerators"):
        acc = str(res["accelerators"])
        gpu_type, _, count = acc.partition(":")
        gpu_count = int(_number(f"{p}resources.accelerators", count or "1"))
    if "run" in doc and "command" in doc:
        raise InvalidJobSpec(f"{p}run", "give either run or command, not both")
    if "command" in doc:
        command = _str_list(f"{p}command", doc["command"])
    else:
        run = doc.get("run", "")
        if not isinstance(run, str):
            raise InvalidJobSpec(f"{p}run", "expected a command line string")
        try:
            command = tuple(shlex.split(run))
        except ValueError as exc:
            raise InvalidJobSpec(f"{p}run", str(exc)) from None
    if "estimated_runtime" not in doc:
        raise InvalidJobSpec(f"{p}estimated_runtime", "required (e.g. 30m)")
    if "deadline" not in doc:
        raise InvalidJobSpec(f"{p}deadline", "required (e.g. +4h or 2026-12-01T00:00:00Z)")
    use_spot = res.get("use_spot", False)
    if not isinstance(use_spot, bool):
        raise InvalidJobSpec(f"{p}resources.use_spot", "expected true or false")
    return JobSpec(
        name=str(doc.get("name") or ""),
        command=command,
        estimated_runtime=parse_duration(f"{p}estimated_runtime", doc["estimated_runtime"]),
        deadline=parse_deadline(f"{p}deadline", doc["deadline"], now),
        resources=Resources(
            vcpus=_number(f"{p}resources.cpus", res.get("cpus", 1)),
            memory_gib=_number(f"{p}resources.memory", res.get("memory", 1)),
            gpu_count=gpu_count,
            gpu_type=gpu_type,
        ),
        labels=_str_map(f"{p}labels", doc.get("labels")),
        env=_str_map(f"{p}envs", doc.get("envs", doc.get("env"))),
        spot_allowed=use_spot,
        allowed_clouds=_str_list(f"{p}resources.cloud", res.get("cloud")),
        allowed_regions=_str_list(f"{p}resources.region", res.get("region")),
        checkpoint_interval=parse_duration(
            f"{p}checkpoint_interval", doc.get("checkpoint_interval", "10m")
        ),
        client_request_id=str(doc.get("request_id") or ""),
    )


def load_jobs(text: str, *, now: datetime) -> list[JobSpec]:
    """Every job in a YAML text (one, a list, ``jobs:``, or several documents)."""
    try:
        docs = [d for d in yaml.safe_load_all(text) if d is not None]
    except yaml.YAMLError as exc:
        raise InvalidJobSpec("yaml", str(exc).replace("\n", " ")) from None
    items: list[Any] = []
    for d in docs:
        if isinstance(d, Mapping) and "jobs" in d and len(d) == 1:
            d = d["jobs"]
        items.extend(d if isinstance(d, list) else [d])
    if not items:
        raise InvalidJobSpec("yaml", "no job in the file")
    many = len(items) > 1
    return [
        job_from_mapping(item, now=now, path=f"jobs[{i}]" if many else "")
        for i, item in enumerate(items)
    ]
