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

#: argv as execve counts it: every argument's UTF-8 bytes plus its terminating NUL.
MAX_COMMAND_BYTES = 64 * 1024
MAX_ENV_BYTES = 64 * 1024
MAX_LABELS = 64
MAX_LOCATIONS = 64
MAX_GPU_TYPE_CHARS = 64
MAX_REQUEST_ID_CHARS = 128
MAX_RUNTIME = timedelta(days=30)
MAX_DEADLINE_AHEAD = timedelta(days=366)
MIN_CHECKPOINT_INTERVAL = timedelta(seconds=1)
DEFAULT_CHECKPOINT_INTERVAL = timedelta(minutes=10)
_LABEL_KEY = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9_.\-/]{0,61}[A-Za-z0-9])?$")
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9_.\-/:]{0,63}$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\- ]{0,127}$")
_GPU_TYPE = re.compile(r"[A-Za-z0-9_.\-]*")
_LOCATION = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,62}")
#: Printable ASCII: request ids travel in logs and error messages.
_REQUEST_ID = re.compile(r"[\x21-\x7e]*")


def _show(value: str, limit: int = 40) -> str:
    """``value`` quoted for an error message, cut short: a field may be megabytes."""
    return repr(value) if len(value) <= limit else repr(value[:limit]) + "..."


def _finite_positive(field: str, value: float, limit: float) -> None:
    if not isinstance(value, int | float) or math.isnan(value) or math.isinf(value):
        raise InvalidJobSpec(field, "must be a finite number")
    if value <= 0:
        raise InvalidJobSpec(field, f"must be greater than 0, got {value:g}")
    if value > limit:
        raise InvalidJobSpec(field, f"must be at most {limit:g}, got {value:g}")


def validate(
    spec: JobSpec, *, now: datetime, offerings: Sequence[Offering] | Placements
) -> JobSpec:
    """Check every field; return the spec with defaults applied. Pass a
    :class:`Placements` when validating many specs against one catalog listing."""
    if not spec.name:
        spec = replace(spec, name=_default_name(spec))
    if not _NAME.fullmatch(spec.name):
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
    if len(r.gpu_type) > MAX_GPU_TYPE_CHARS or not _GPU_TYPE.fullmatch(r.gpu_type):
        raise InvalidJobSpec(
            "resources.gpu_type", f"at most {MAX_GPU_TYPE_CHARS} of [A-Za-z0-9_.-]"
        )
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
    if spec.checkpoint_interval > MAX_RUNTIME:
        raise InvalidJobSpec("checkpoint_interval", f"must be at most {MAX_RUNTIME.days} days")
    if len(spec.client_request_id) > MAX_REQUEST_ID_CHARS or not _REQUEST_ID.fullmatch(
        spec.client_request_id
    ):
        raise InvalidJobSpec(
            "client_request_id", f"at most {MAX_REQUEST_ID_CHARS} printable ASCII characters"
        )
    placements = offerings if isinstance(offerings, Placements) else Placements(offerings)
    _validate_placement(spec, now, placements)
    return spec


def _default_name(spec: JobSpec) -> str:
    base = spec.command[0].rsplit("/", 1)[-1] if spec.command else ""
    # A name starts with a letter or digit: drop what the program's name starts with.
    return re.sub(r"[^A-Za-z0-9_.\-]", "-", base).lstrip("_.-")[:64] or "job"


def _validate_command(spec: JobSpec) -> None:
    if not spec.command:
        raise InvalidJobSpec("command", "must not be empty")
    if not spec.command[0].strip():
        raise InvalidJobSpec("command[0]", "the program must not be blank")
    size = 0
    for i, arg in enumerate(spec.command):
        if "\x00" in arg:
            raise InvalidJobSpec(f"command[{i}]", "contains a NUL byte")
        size += len(arg.encode()) + 1
        if size > MAX_COMMAND_BYTES:
            raise InvalidJobSpec(
                "command", f"longer than {MAX_COMMAND_BYTES} bytes (with a NUL per argument)"
            )


def _validate_labels_env(spec: JobSpec) -> None:
    if len(spec.labels) > MAX_LABELS:
        raise InvalidJobSpec("labels", f"at most {MAX_LABELS} labels")
    for key, value in spec.labels.items():
        if not _LABEL_KEY.fullmatch(key):
            raise InvalidJobSpec(f"labels[{_show(key)}]", "key must be 1-63 of [A-Za-z0-9_.-/]")
        if not _LABEL_VALUE.fullmatch(value):
            raise InvalidJobSpec(f"labels[{_show(key)}]", "value must be 0-63 of [A-Za-z0-9_.-/:]")
    size = 0
    for key, value in spec.env.items():
        if len(key) > 256 or not _ENV_NAME.fullmatch(key):
            raise InvalidJobSpec(f"env[{_show(key)}]", "not a valid variable name")
        if key.startswith("SKYBATCH_"):
            raise InvalidJobSpec(f"env[{_show(key)}]", "SKYBATCH_* variables are reserved")
        if "\x00" in value:
            raise InvalidJobSpec(f"env[{_show(key)}]", "contains a NUL byte")
        size += len(key) + len(value.encode()) + 2
        if size > MAX_ENV_BYTES:
            raise InvalidJobSpec("env", f"larger than {MAX_ENV_BYTES} bytes")


class Placements:
    """The offerings as validation sees them, with the answer for each job *shape*
    (clouds, regions, market, resources) remembered: a batch of a thousand alike
    jobs scans the offerings once, not a thousand times. Build one per catalog
    listing (:meth:`current` rebuilds only when the listing changed)."""

    def __init__(self, offerings: Sequence[Offering]) -> None:
        self.offerings = tuple(offerings)
        self._ids = tuple(map(id, self.offerings))
        self.clouds = frozenset(o.cloud for o in self.offerings)
        #: shape -> fastest launch delay of a fitting offering, or the error to raise.
        self._fastest: dict[tuple[object, ...], float | InvalidJobSpec] = {}

    def current(self, offerings: Sequence[Offering]) -> Placements:
        """Itself while ``offerings`` are the same objects, else a fresh index."""
        same = len(offerings) == len(self._ids) and all(
            a is b for a, b in zip(offerings, self.offerings, strict=True)
        )
        return self if same else Placements(offerings)

    def fastest_launch_s(self, spec: JobSpec) -> float:
        """The fastest launch delay among offerings the job fits, else
        :class:`InvalidJobSpec` naming what rules every offering out."""
        r = spec.resources
        key = (
            spec.allowed_clouds,
            spec.allowed_regions,
            spec.spot_allowed,
            r.vcpus,
            r.memory_gib,
            r.gpu_count,
            r.gpu_type,
        )
        found = self._fastest.get(key)
        if found is None:
            try:
                found = self._scan(spec)
            except InvalidJobSpec as exc:
                found = exc
            if len(self._fastest) < 4096:
                self._fastest[key] = found
        if isinstance(found, InvalidJobSpec):
            raise InvalidJobSpec(found.field, found.problem)
        return found

    def _scan(self, spec: JobSpec) -> float:
        offerings, clouds = self.offerings, self.clouds
        for cloud in spec.allowed_clouds:
            if cloud not in clouds:
                raise InvalidJobSpec(
                    "allowed_clouds",
                    f"unknown cloud {_show(cloud)} (known: {', '.join(sorted(clouds))})",
                )
        in_clouds = [
            o for o in offerings if not spec.allowed_clouds or o.cloud in spec.allowed_clouds
        ]
        regions = {o.region for o in in_clouds}
        for region in spec.allowed_regions:
            if region not in regions:
                raise InvalidJobSpec(
                    "allowed_regions",
                    f"unknown region {_show(region)} (known: {', '.join(sorted(regions))})",
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
        return min(o.launch_delay_s for o in fitting)


def _validate_placement(spec: JobSpec, now: datetime, placements: Placements) -> None:
    for field, names in (
        ("allowed_clouds", spec.allowed_clouds),
        ("allowed_regions", spec.allowed_regions),
    ):
        if len(names) > MAX_LOCATIONS:
            raise InvalidJobSpec(field, f"at most {MAX_LOCATIONS} names")
        for i, name in enumerate(names):
            if not _LOCATION.fullmatch(name):
                raise InvalidJobSpec(f"{field}[{i}]", f"not a name: {_show(name)}")
    fastest = placements.fastest_launch_s(spec)
    earliest_end = now + timedelta(seconds=fastest) + spec.estimated_runtime
    if earliest_end > spec.deadline:
        raise InvalidJobSpec(
            "deadline",
            f"the job needs at least {spec.estimated_runtime + timedelta(seconds=fastest)} "
            f"(runtime + launch) but the deadline is {spec.deadline - now} away",
        )
