"""Domain values of the scheduler: job specs, states and the views the API returns.

Plain frozen dataclasses; the store and the API convert to and from them at their
edges. Money is ``Decimal`` dollars; times are timezone-aware UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

DEFAULT_TENANT = "default"
#: The label naming a job's class (see :attr:`JobSpec.class_key`).
CLASS_LABEL = "class"


def utcnow() -> datetime:
    return datetime.now(UTC)


class JobState(StrEnum):
    PENDING = "PENDING"
    PLANNED = "PLANNED"
    LAUNCHING = "LAUNCHING"
    RUNNING = "RUNNING"
    PREEMPTED = "PREEMPTED"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
#: States in which a job holds (or is about to hold) a node.
ACTIVE_STATES = frozenset({JobState.LAUNCHING, JobState.RUNNING})


class AttemptState(StrEnum):
    LAUNCHING = "LAUNCHING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    PREEMPTED = "PREEMPTED"
    CANCELLED = "CANCELLED"

    @property
    def live(self) -> bool:
        return self in (AttemptState.LAUNCHING, AttemptState.RUNNING)


@dataclass(frozen=True)
class Resources:
    vcpus: float = 1.0
    memory_gib: float = 1.0
    gpu_count: int = 0
    gpu_type: str = ""


@dataclass(frozen=True)
class JobSpec:
    """What a user asks for (validated by ``scheduler.jobspec``)."""

    name: str
    command: tuple[str, ...]
    estimated_runtime: timedelta
    deadline: datetime
    resources: Resources = Resources()
    labels: Mapping[str, str] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    spot_allowed: bool = False
    allowed_clouds: tuple[str, ...] = ()
    allowed_regions: tuple[str, ...] = ()
    checkpoint_interval: timedelta = timedelta(minutes=10)
    client_request_id: str = ""

    @property
    def class_key(self) -> str:
        """The job's class for runtime statistics: its ``class`` label, else its command
        line (jobs running the same command tend to misjudge their runtime alike)."""
        return self.labels.get(CLASS_LABEL) or " ".join(self.command)


@dataclass(frozen=True)
class Placement:
    cloud: str
    region: str
    zone: str
    instance_type: str
    market: str
    price_per_hour: Decimal

    @property
    def offering_id(self) -> str:
        return f"{self.cloud}/{self.region}/{self.zone}/{self.instance_type}/{self.market}"


@dataclass(frozen=True)
class AttemptView:
    id: str
    job_id: str
    number: int
    placement: Placement
    state: AttemptState
    node_id: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    exit_code: int | None
    preempted: bool
    progress: float
    cost: Decimal
    last_heartbeat: datetime | None


@dataclass(frozen=True)
class JobView:
    id: str
    tenant: str
    spec: JobSpec
    state: JobState
    state_reason: str
    created_at: datetime
    updated_at: datetime
    progress: float
    checkpoint_progress: float
    checkpoint_seq: int
    preemptions: int
    failures: int
    cost: Decimal
    exit_code: int | None
    finished_at: datetime | None
    attempts: tuple[AttemptView, ...] = ()
    planned_offering: str = ""


@dataclass(frozen=True)
class JobEvent:
    seq: int
    job_id: str
    tenant: str
    from_state: JobState | None
    to_state: JobState
    at: datetime
    reason: str
    detail: str = ""
    attempt_id: str = ""


class OptionLoss(StrEnum):
    """Why an alternative lost (the values of ``solver.Loss``, without importing the
    solver into every client)."""

    PRICE = "price"
    QUOTA = "quota"
    DEADLINE = "deadline"
    BUDGET = "budget"
    MARKET = "market"


@dataclass(frozen=True)
class CostParts:
    """An expected cost, part by part (see ``solver.CostBreakdown``), in dollars."""

    compute: Decimal
    rework: Decimal
    egress: Decimal
    launch: Decimal

    @property
    def total(self) -> Decimal:
        return self.compute + self.rework + self.egress + self.launch


@dataclass(frozen=True)
class PlanOption:
    """One offering at one start; ``loss`` is ``None`` for the chosen placement."""

    offering_id: str
    start: datetime
    cost: CostParts
    loss: OptionLoss | None
    detail: str


@dataclass(frozen=True)
class PlanDecision:
    """What the plan decided for a job, or (outside a plan) where the job is."""

    placed: bool
    offering_id: str = ""
    start: datetime | None = None
    #: ``None`` outside a plan.
    expected_cost: Decimal | None = None
    #: Why it is not placed (or why it runs late).
    reason: str = ""
    late: bool = False


@dataclass(frozen=True)
class JobExplanation:
    """``skybatch explain``: the chosen placement, its cost, and the alternatives that lost.

    Only a job waiting to be placed is explained (from the control loop's last plan);
    for any other ``note`` says why not and ``decision`` is where the job is.
    """

    job_id: str
    state: JobState
    decision: PlanDecision
    chosen: PlanOption | None = None
    alternatives: tuple[PlanOption, ...] = ()
    considered: int = 0
    not_fitting: int = 0
    planned_at: datetime | None = None
    note: str = ""


@dataclass(frozen=True)
class CostModelVersion:
    """One fitted cost model: parameters, accuracy on held-back data, and its inputs
    (JSON documents, described in docs/costmodel.md)."""

    version: int
    created_at: datetime
    #: What started the refit: ``schedule``, ``billing`` or ``manual``.
    trigger: str
    params: dict[str, Any]
    accuracy: dict[str, Any]
    inputs: dict[str, Any]
