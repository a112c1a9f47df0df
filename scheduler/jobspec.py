"""Validation of job specs against the rules and the offerings we know.

``validate(spec, now=..., offerings=...)`` raises :class:`InvalidJobSpec` naming the
field and the problem, or returns the spec with defaults filled in. Pure: the
caller passes the clock reading and the catalog.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

from adapters.base import Market, Offering
from scheduler.domain import JobSpec
from scheduler.errors import InvalidJobSpec

MAX_COMMAND_BYTES = 64 * 1024
MAX_ENV_BYTES = 64 * 1024
MAX_RUNTIME = timedelta(days=30)
MAX_DEADLINE_AHEAD = timedelta(days=366)
MIN_CHECKPOINT_INTERVAL = timedelta(seconds=1)
DEFAULT_CHECKPOINT_INTERVAL = timedelta(minutes=10)
_LABEL_KEY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.\-/]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.\-/:]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,127}$")


def _finite_positive(field: str, value: float, limit: float) -> None:
    if not isinstance(value, int | float) or math.isnan(value) or math.isinf(value):
        raise InvalidJobSpec(field, "must be a finite number")
    if value <= 0:
        raise InvalidJobSpec(field, f"must be greater than 0, got {value:g}")
    if value > limit:
        raise InvalidJobSpec(field, f"must be at most {limit:g}, got {value:g}")


def validate(spec: JobSpec, *, now: datetime, offerings: Sequence[Offering]) -> JobSpec:
    """Check every field; return the spec with defaults applied."""
    if not spec.name:
        spec = replace(spec, name=_default_name(spec))
    if not _NAME.match(spec.name):
        raise InvalidJobSpec(
            "name", "1-128 characters: letters, digits, space, '_', '.', '-', starting alnum"
        )
    _validate_command(spec)
    _validate_labels_env(spec)
    r = spec.resources
    _finite_positive("resources.vcpus", r.vcpus, 1024)
    _finite_positive("resources.memory_gib", r.memory_gib, 24 * 1024)
    if r.gpu_count < 0 or r.gpu_count > 64:
        raise InvalidJobSpec("resources.gpu_count", f"must be 0..64, got {r.gpu_count}")
    if r.gpu_count and not r.gpu_type:
        raise InvalidJobSpec("resources.gpu_type", "required when gpu_count > 0")
    if spec.estimated_runtime <= timedelta(0):
        raise InvalidJobSpec("estimated_runtime", "must be greater than 0")
    if spec.estimated_runtime > MAX_RUNTIME:
        raise InvalidJobSpec("estimated_runtime", f"must be at most {MAX_RUNTIME.days} days")
    if spec.deadline.tzinfo is None:
        raise InvalidJobSpec("deadline", "must carry a timezone")
    if spec.deadline <= now:
        raise InvalidJobSpec("deadline", f"{spec.deadline.isoformat()} is in the past")
    if spec.deadline > now + MAX_DEADLINE_AHEAD:
        raise InvalidJobSpec("deadline", "more than a year ahead")
    if spec.checkpoint_interval == timedelta(0):
        spec = replace(spec, checkpoint_interval=DEFAULT_CHECKPOINT_INTERVAL)
    if spec.checkpoint_interval < MIN_CHECKPOINT_INTERVAL:
        raise InvalidJobSpec("checkpoint_interval", "must be at least 1 second")
    if len(spec.client_request_id) > 128:
        raise InvalidJobSpec("client_request_id", "at most 128 characters")
    _validate_placement(spec, now, offerings)
    return spec


def _default_name(spec: JobSpec) -> str:
    base = spec.command[0].rsplit("/", 1)[-1] if spec.command else ""
    return re.sub(r"[^A-Za-z0-9_.\-]", "-", base)[:64] or "job"


def _validate_command(spec: JobSpec) -> None:
    if not spec.command:
        raise InvalidJobSpec("command", "must not be empty")
    if not spec.command[0].strip():
        raise InvalidJobSpec("command[0]", "the program must not be blank")
    size = 0
    for i, arg in enumerate(spec.command):
        if "\x00" in arg:
            raise InvalidJobSpec(f"command[{i}]", "contains a NUL byte")
        size += len(arg.encode())
    if size > MAX_COMMAND_BYTES:
        raise InvalidJobSpec("command", f"longer than {MAX_COMMAND_BYTES} bytes")


def _validate_labels_env(spec: JobSpec) -> None:
    if len(spec.labels) > 64:
        raise InvalidJobSpec("labels", "at most 64 labels")
    for key, value in spec.labels.items():
        if not _LABEL_KEY.match(key):
            raise InvalidJobSpec(f"labels[{key!r}]", "key must be 1-63 of [A-Za-z0-9_.-/]")
        if not _LABEL_VALUE.match(value):
            raise InvalidJobSpec(f"labels[{key!r}]", "value must be 0-63 of [A-Za-z0-9_.-/:]")
    size = 0
    for key, value in spec.env.items():
        if not _ENV_NAME.match(key):
            raise InvalidJobSpec(f"env[{key!r}]", "not a valid variable name")
        if key.startswith("SKYBATCH_"):
            raise InvalidJobSpec(f"env[{key!r}]", "SKYBATCH_* variables are reserved")
        if "\x00" in value:
            raise InvalidJobSpec(f"env[{key!r}]", "contains a NUL byte")
        size += len(key) + len(value.encode())
    if size > MAX_ENV_BYTES:
        raise InvalidJobSpec("env", f"larger than {MAX_ENV_BYTES} bytes")


def _validate_placement(spec: JobSpec, now: datetime, offerings: Sequence[Offering]) -> None:
    clouds = {o.cloud for o in offerings}
    for cloud in spec.allowed_clouds:
        if cloud not in clouds:
            raise InvalidJobSpec(
                "allowed_clouds", f"unknown cloud {cloud!r} (known: {', '.join(sorted(clouds))})"
            )
    in_clouds = [o for o in offerings if not spec.allowed_clouds or o.cloud in spec.allowed_clouds]
    regions = {o.region for o in in_clouds}
    for region in spec.allowed_regions:
        if region not in regions:
            raise InvalidJobSpec(
                "allowed_regions",
                f"unknown region {region!r} (known: {', '.join(sorted(regions))})",
            )
    r = spec.resources
    fitting = [
        o
        for o in in_clouds
        if (not spec.allowed_regions or o.region in spec.allowed_regions)
        and (spec.spot_allowed or o.market is Market.ON_DEMAND)
        and o.vcpus >= r.vcpus
        and o.memory_gib >= r.memory_gib
        and (not r.gpu_count or (o.gpu_count >= r.gpu_count and o.gpu_type == r.gpu_type))
    ]
    if not fitting:
        raise InvalidJobSpec(
            "resources",
            f"no offering has {r.vcpus:g} vCPUs, {r.memory_gib:g} GiB"
            + (f", {r.gpu_count}x {r.gpu_type}" if r.gpu_count else "")
            + " in the allowed clouds/regions",
        )
    fastest = min(o.launch_delay_s for o in fitting)
    earliest_end = now + timedelta(seconds=fastest) + spec.estimated_runtime
    if earliest_end > spec.deadline:
        raise InvalidJobSpec(
            "deadline",
            f"the job needs at least {spec.estimated_runtime + timedelta(seconds=fastest)} "
            f"(runtime + launch) but the deadline is {spec.deadline - now} away",
        )
