"""The SLA report as values: a frozen dataclass tree and its JSON form.

Every number is exact: money is ``Decimal`` dollars (6 places), hours are ``Decimal``
(6 places), seconds ``Decimal`` (microseconds), percentages ``Decimal`` (2 places);
counts are ints. In JSON, decimals are strings (``"12.500000"``), times ISO 8601 UTC
(``...Z``), missing values ``null``; :meth:`SlaReport.from_json` reads it back to the
same tree (the gRPC client does). What each field means: docs/reports.md.
"""

from __future__ import annotations

import dataclasses
import json
import types
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Union, cast, get_args, get_origin, get_type_hints

#: Bumped when a field changes meaning or goes away (adding one does not bump it).
SCHEMA_VERSION = 1


@dataclasses.dataclass(frozen=True)
class Lateness:
    """Over the jobs that succeeded after their deadline (``count`` of them), in seconds;
    percentiles are nearest-rank (always one of the observed values)."""

    count: int
    p50_s: Decimal
    p95_s: Decimal
    max_s: Decimal


@dataclasses.dataclass(frozen=True)
class GroupStats:
    """One row of the report: every finished job of a group (see docs/reports.md)."""

    #: ``all``, ``tenant`` or ``label:<key>``.
    dimension: str
    #: The tenant, the label value (``(none)`` for jobs without the label), or ``all``.
    group: str
    jobs: int
    succeeded: int
    failed: int
    cancelled: int
    on_time: int
    late: int
    #: ``on_time / (succeeded + failed)``; None when no job succeeded or failed.
    attainment_pct: Decimal | None
    lateness: Lateness | None
    cost: Decimal
    cost_per_job: Decimal | None
    spot_cost: Decimal
    #: ``spot_cost / cost``; None when nothing was spent.
    spot_cost_share_pct: Decimal | None
    node_hours: Decimal
    spot_node_hours: Decimal
    spot_hours_share_pct: Decimal | None
    gpu_hours: Decimal
    #: The GPU jobs' cost over their GPU-hours; None ("n/a") without GPU-hours.
    cost_per_gpu_hour: Decimal | None
    attempts: int
    preemptions: int
    work_lost_hours: Decimal
    #: The same attempts all on demand (``scheduler.analysis.counterfactual``).
    on_demand_cost: Decimal
    savings: Decimal
    savings_pct: Decimal | None
    #: Spot attempts with no on-demand price anywhere (counted at their cost).
    unpriced_spot_attempts: int


@dataclasses.dataclass(frozen=True)
class Miss:
    """A job that failed, or succeeded after its deadline."""

    job_id: str
    tenant: str
    name: str
    #: The job's value of the report's label key (empty without one).
    label: str
    state: str
    deadline: datetime
    finished_at: datetime
    #: ``finished_at - deadline`` for a late success; None for a failure.
    lateness_s: Decimal | None
    #: Submission to the first launch (None if it never launched).
    queued_s: Decimal | None
    run_s: Decimal
    estimated_s: Decimal
    attempts: int
    preemptions: int
    cost: Decimal
    #: Why, from the job's events (see docs/reports.md).
    reason: str


@dataclasses.dataclass(frozen=True)
class HistogramBin:
    """Late jobs with ``low_s <= lateness < high_s``."""

    low_s: Decimal
    high_s: Decimal
    count: int


@dataclasses.dataclass(frozen=True)
class CostPeriod:
    """The report's jobs' attempts that ended in ``[start, start + period)``."""

    start: datetime
    spot: Decimal
    on_demand: Decimal


@dataclasses.dataclass(frozen=True)
class SlaReport:
    """``skybatch report sla``: jobs finished in ``[range_from, range_to)`` (None: no
    bound), optionally of one tenant, overall, per tenant and per value of a label."""

    range_from: datetime | None
    range_to: datetime | None
    tenant: str | None
    label_key: str | None
    #: When the first and the last reported job finished (None without jobs).
    first_finished: datetime | None
    last_finished: datetime | None
    overall: GroupStats
    by_tenant: tuple[GroupStats, ...]
    by_label: tuple[GroupStats, ...]
    worst_misses: tuple[Miss, ...]
    lateness_histogram: tuple[HistogramBin, ...]
    #: A pandas frequency (``min``, ``5min``, ``h``, ``D``, ``7D``).
    cost_period: str
    cost_over_time: tuple[CostPeriod, ...]
    #: The price list that priced spot attempts on demand where no on-demand attempt
    #: of the same cloud, region and type did.
    price_catalog: str
    schema_version: int = SCHEMA_VERSION

    @property
    def groups(self) -> tuple[GroupStats, ...]:
        """Every row: overall, then tenants, then label values."""
        return (self.overall, *self.by_tenant, *self.by_label)

    def to_dict(self) -> dict[str, Any]:
        out = _encode(self)
        assert isinstance(out, dict)
        return out

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, sort_keys=False, ensure_ascii=False)

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> SlaReport:
        report = _decode(cls, doc)
        assert isinstance(report, SlaReport)
        return report

    @classmethod
    def from_json(cls, text: str) -> SlaReport:
        return cls.from_dict(json.loads(text))


def iso(t: datetime) -> str:
    """A UTC time as ISO 8601 with ``Z``."""
    return t.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _encode(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple | list):
        return [_encode(v) for v in value]
    return value


def _decode(kind: Any, value: Any) -> Any:
    origin = get_origin(kind)
    if origin in (Union, types.UnionType):
        if value is None:
            return None
        (inner,) = [a for a in get_args(kind) if a is not type(None)]
        return _decode(inner, value)
    if origin is tuple:
        inner = get_args(kind)[0]
        return tuple(_decode(inner, v) for v in value)
    if dataclasses.is_dataclass(kind):
        hints = get_type_hints(kind)
        known = {f.name for f in dataclasses.fields(kind) if f.init}
        make = cast(Callable[..., Any], kind)
        return make(**{k: _decode(hints[k], v) for k, v in value.items() if k in known})
    if kind is Decimal:
        return Decimal(value)
    if kind is datetime:
        return datetime.fromisoformat(value).astimezone(UTC)
    if kind in (int, str):
        return kind(value)
    raise TypeError(f"cannot decode {kind!r}")
