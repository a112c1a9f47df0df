"""The store's tables (sqlmodel). Only ``scheduler.store`` imports this module.

Money is integer micro-dollars; times are UTC (``UTCDateTime`` refuses naive values
and gives back aware ones, SQLite keeps no zone).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Index, UniqueConstraint
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: skybatch stores timezone-aware UTC only")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class JobRow(SQLModel, table=True):
    __tablename__ = "jobs"
    __table_args__ = (
        UniqueConstraint("tenant", "request_id", name="uq_jobs_tenant_request"),
        Index("ix_jobs_state_n", "state", "n"),
        Index("ix_jobs_tenant_n", "tenant", "n"),
    )

    n: int | None = Field(default=None, primary_key=True)  # keyset paging order
    id: str = Field(unique=True, index=True)
    tenant: str
    #: NULL when the client gave none (NULLs never collide in the unique index).
    request_id: str | None = None
    name: str
    spec_json: str
    state: str
    state_reason: str = ""
    created_at: datetime = Field(sa_type=UTCDateTime)
    updated_at: datetime = Field(sa_type=UTCDateTime)
    deadline: datetime = Field(sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    progress: float = 0.0
    checkpoint_progress: float = 0.0
    checkpoint_seq: int = 0
    preemptions: int = 0
    failures: int = 0
    node_losses: int = 0
    attempts: int = 0
    cost_micros: int = Field(default=0, sa_type=BigInteger)
    exit_code: int | None = None
    planned_offering: str = ""


class JobLabelRow(SQLModel, table=True):
    __tablename__ = "job_labels"
    __table_args__ = (Index("ix_job_labels_kv", "key", "value"),)

    job_id: str = Field(primary_key=True)
    key: str = Field(primary_key=True)
    value: str


class JobEventRow(SQLModel, table=True):
    """Append-only: one row per state change. ``seq`` is the watch cursor."""

    __tablename__ = "job_events"

    seq: int | None = Field(default=None, primary_key=True)
    job_id: str = Field(index=True)
    tenant: str = Field(index=True)
    from_state: str | None = None
    to_state: str
    at: datetime = Field(sa_type=UTCDateTime)
    reason: str = ""
    detail: str = ""
    attempt_id: str = ""


class AttemptRow(SQLModel, table=True):
    """One launch of a job. Its id is the cloud idempotency token."""

    __tablename__ = "attempts"

    id: str = Field(primary_key=True)
    job_id: str = Field(index=True)
    number: int
    cloud: str
    region: str
    zone: str
    instance_type: str
    market: str
    price_micros_per_hour: int = Field(sa_type=BigInteger)
    state: str = Field(index=True)
    node_id: str = ""
    created_at: datetime = Field(sa_type=UTCDateTime)
    launched_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_heartbeat: datetime | None = Field(default=None, sa_type=UTCDateTime)
    exit_code: int | None = None
    preempted: bool = False
    progress: float = 0.0
    end_reason: str = ""
    cost_micros: int = Field(default=0, sa_type=BigInteger)
    #: The job's checkpointed progress when this attempt started (work it did not redo).
    start_progress: float = 0.0


class NodeRow(SQLModel, table=True):
    """A node we launched, as far as we know. Terminated nodes stay for the record."""

    __tablename__ = "nodes"

    id: str = Field(primary_key=True)
    cloud: str
    region: str
    instance_type: str
    market: str
    attempt_id: str = Field(index=True)
    state: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    terminated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class SecretRow(SQLModel, table=True):
    """Server-side secrets (the HMAC key that derives attempt tokens)."""

    __tablename__ = "secrets"

    name: str = Field(primary_key=True)
    value: str


class BillingFileRow(SQLModel, table=True):
    """One ingested billing file, by content. ``state`` is ``complete`` only once every
    line is stored, so a crash mid-ingest is finished by ingesting the file again."""

    __tablename__ = "billing_files"

    sha256: str = Field(primary_key=True)
    name: str
    format: str
    state: str
    rows: int = 0
    added: int = 0
    matched: int = 0
    currency: str = ""
    #: Exact decimal text (FOCUS costs have more digits than micro-dollars).
    billed_cost: str = "0"
    period_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    period_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    source: str = ""
    started_at: datetime = Field(sa_type=UTCDateTime)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class BillingLineRow(SQLModel, table=True):
    """A billed line item in FOCUS terms. ``key`` is the row's content hash (with its
    occurrence in the file), so the same line ingested twice is stored once."""

    __tablename__ = "billing_lines"
    __table_args__ = (Index("ix_billing_lines_charge_start", "charge_period_start"),)

    key: str = Field(primary_key=True)
    file_sha256: str = Field(index=True)
    source_row: int
    provider: str
    billing_account: str
    sub_account: str | None = None
    service: str | None = None
    charge_category: str
    charge_description: str | None = None
    charge_period_start: datetime = Field(sa_type=UTCDateTime)
    charge_period_end: datetime = Field(sa_type=UTCDateTime)
    region: str | None = None
    zone: str | None = None
    resource_id: str | None = None
    sku_id: str | None = None
    instance_type: str | None = None
    pricing_unit: str | None = None
    pricing_quantity: float | None = None
    consumed_quantity: float | None = None
    currency: str
    #: Exact decimal text, as billed.
    billed_cost: str
    effective_cost: str
    list_cost: str | None = None
    tags_json: str = "{}"
    #: The attempt this line pays for, when it could be matched (tags, resource id).
    attempt_id: str | None = Field(default=None, index=True)


class CostModelRow(SQLModel, table=True):
    """One fitted cost model. The newest version is the one the planner uses."""

    __tablename__ = "cost_models"

    version: int | None = Field(default=None, primary_key=True)
    created_at: datetime = Field(sa_type=UTCDateTime)
    #: What started the refit: ``schedule``, ``billing`` or ``manual``.
    trigger: str
    params_json: str
    accuracy_json: str
    inputs_json: str


class TenantRow(SQLModel, table=True):
    """A tenant: who owns jobs, tokens and budgets. ``role`` is ``user`` or ``admin``."""

    __tablename__ = "tenants"

    name: str = Field(primary_key=True)
    role: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    disabled: bool = False


class TokenRow(SQLModel, table=True):
    """A bearer token ``sbt_<id>_<secret>``: only the SHA-256 of the secret is kept."""

    __tablename__ = "tokens"

    id: str = Field(primary_key=True)
    tenant: str = Field(index=True)
    secret_sha256: str
    created_at: datetime = Field(sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    expires_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    description: str = ""


class BudgetRow(SQLModel, table=True):
    """A tenant's budget per window (``month``, ``week``, ``day`` or ``period`` with
    explicit bounds); setting one again replaces it."""

    __tablename__ = "budgets"

    tenant: str = Field(primary_key=True)
    window: str = Field(primary_key=True)
    amount_micros: int = Field(sa_type=BigInteger)
    period_start: datetime | None = Field(default=None, sa_type=UTCDateTime)
    period_end: datetime | None = Field(default=None, sa_type=UTCDateTime)
    set_at: datetime = Field(sa_type=UTCDateTime)


class QuotaCapRow(SQLModel, table=True):
    """An admin's cap on a quota pool (``cloud/region/resource``), in the pool's units;
    the planner uses the least of it and the cloud's limit."""

    __tablename__ = "quota_caps"

    pool: str = Field(primary_key=True)
    limit_units: float
    set_at: datetime = Field(sa_type=UTCDateTime)
    #: The tenant whose admin token set it.
    set_by: str
    note: str = ""
