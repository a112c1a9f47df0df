"""Ports between the scheduler and the outside world.

The control loop talks to every cloud through :class:`CloudPort` and to every
object store through :class:`CheckpointStore`. Both are small ``Protocol``\\ s whose
docstrings state the contract an implementation must keep (idempotency, which
errors mean what). Domain values crossing the ports are frozen dataclasses; money
is :class:`~decimal.Decimal` dollars, times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Protocol, runtime_checkable

#: Tag put on every node skybatch launches; ``list_nodes`` filters on it.
MANAGED_BY_TAG = "managed-by"
MANAGED_BY_VALUE = "skybatch"
#: Tag naming the attempt a node runs; bills carry it, so line items match attempts.
ATTEMPT_TAG = "skybatch-attempt"


class Market(StrEnum):
    ON_DEMAND = "on-demand"
    SPOT = "spot"


@dataclass(frozen=True)
class Offering:
    """One thing that can be bought: cloud x region x zone x instance type x market."""

    cloud: str
    region: str
    zone: str
    instance_type: str
    market: Market
    vcpus: float
    memory_gib: float
    gpu_count: int
    gpu_type: str
    price_per_hour: Decimal
    #: Expected preemptions per node-hour (0 for on-demand).
    preemption_hazard_per_hour: float = 0.0
    #: Typical seconds from launch request to a running worker.
    launch_delay_s: float = 60.0
    #: Where the price came from, e.g. ``anycloud-sh/catalog@62ff0a9 gcp/vms.csv``.
    source: str = ""
    #: When the source was current, as an ISO date (or year-month).
    source_date: str = ""
    #: Spot nodes count against their own quota (AWS spot vCPU quotas, GCP preemptible
    #: quotas, Azure low-priority cores), not against the on-demand one.
    separate_spot_quota: bool = False

    @property
    def id(self) -> str:
        return f"{self.cloud}/{self.region}/{self.zone}/{self.instance_type}/{self.market}"

    @property
    def quota_draw(self) -> tuple[tuple[str, float], ...]:
        """(quota pool, amount) that one node of this offering holds (see :class:`QuotaLimit`):
        vCPUs and GPUs per region, in pools of their own for spot where the cloud keeps
        spot quotas apart (``separate_spot_quota``)."""
        prefix = "spot-" if self.separate_spot_quota and self.market is Market.SPOT else ""
        draw = [(quota_pool(self.cloud, self.region, f"{prefix}vcpu"), self.vcpus)]
        if self.gpu_count:
            pool = quota_pool(self.cloud, self.region, f"{prefix}gpu:{self.gpu_type}")
            draw.append((pool, float(self.gpu_count)))
        return tuple(draw)


def quota_pool(cloud: str, region: str, resource: str) -> str:
    """Name of a quota pool, e.g. ``local/us-central1/vcpu``."""
    return f"{cloud}/{region}/{resource}"


@dataclass(frozen=True)
class QuotaLimit:
    """The most of ``resource`` (vCPUs or GPUs) the account may hold at once in a pool."""

    pool: str
    capacity: float


@dataclass(frozen=True)
class NodeSpec:
    """What to launch. ``user_data`` is the boot script that starts the worker agent."""

    offering: Offering
    name: str
    user_data: str
    tags: Mapping[str, str] = field(default_factory=dict)


class NodeStatus(StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    STOPPED = "stopped"
    TERMINATED = "terminated"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class NodeInfo:
    """A node as the cloud reports it."""

    node_id: str
    cloud: str
    region: str
    instance_type: str
    market: Market
    status: NodeStatus
    tags: Mapping[str, str]
    created_at: datetime | None = None
    #: True when the cloud reclaimed this (spot) node, as opposed to us terminating it.
    preempted: bool = False
    #: The idempotency token it was launched with, when the cloud reports it.
    client_token: str = ""


class CloudError(Exception):
    """Base of the errors a :class:`CloudPort` raises. ``code`` is the provider's."""

    def __init__(self, message: str, *, code: str = "") -> None:
        super().__init__(message)
        self.code = code


class CapacityError(CloudError):
    """The offering has no capacity right now (e.g. InsufficientInstanceCapacity)."""


class QuotaError(CloudError):
    """An account quota would be exceeded. ``limit`` is the cloud's number, if it said."""

    def __init__(self, message: str, *, code: str = "", limit: float | None = None) -> None:
        super().__init__(message, code=code)
        self.limit = limit


class ThrottledError(CloudError):
    """Rate limited or a transient server error: retry later with backoff."""


class AuthError(CloudError):
    """Credentials missing, wrong or not allowed to do this."""


@runtime_checkable
class CloudPort(Protocol):
    """A cloud account skybatch can launch nodes in.

    Contract:
    - ``launch`` is idempotent per ``token``: calling it again with the same token
      (after a crash, a timeout, a retry) returns the node the first call made and
      never creates a second one.
    - ``terminate`` is idempotent and returns silently when the node is already gone.
    - ``list_nodes`` returns only nodes carrying all of ``tags``; terminated nodes may
      still be listed for a while (as real clouds do) with status TERMINATED.
    - Errors are :class:`CloudError` subclasses; anything else is a bug.
    """

    @property
    def name(self) -> str: ...

    def list_offerings(self) -> Sequence[Offering]: ...

    def quotas(self) -> Sequence[QuotaLimit]: ...

    def launch(self, spec: NodeSpec, *, token: str) -> NodeInfo: ...

    def list_nodes(self, tags: Mapping[str, str]) -> Sequence[NodeInfo]: ...

    def terminate(self, node_id: str) -> None: ...


@dataclass(frozen=True)
class CheckpointInfo:
    """A complete checkpoint: its manifest was written (last) and lists every file."""

    job_id: str
    seq: int
    size_bytes: int
    files: tuple[str, ...]
    created_at: datetime


class CheckpointError(Exception):
    """The checkpoint store failed (I/O, a corrupt or missing object)."""


@runtime_checkable
class CheckpointStore(Protocol):
    """Checkpoints of jobs' working directories in object storage.

    Contract:
    - ``put`` uploads every file under ``local_dir`` as checkpoint ``seq`` (greater than
      any earlier one of the job), writing the manifest last; a checkpoint without a
      manifest is invisible to ``latest``/``restore``.
    - ``restore`` downloads the newest complete checkpoint into ``local_dir`` and
      verifies sizes and digests; returns None when the job has none.
    """

    def put(self, job_id: str, seq: int, local_dir: Path) -> CheckpointInfo: ...

    def latest(self, job_id: str) -> CheckpointInfo | None: ...

    def restore(self, job_id: str, local_dir: Path) -> CheckpointInfo | None: ...
