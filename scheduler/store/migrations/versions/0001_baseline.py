"""Baseline: the schema as of issue 7, before tenants (jobs, labels, events, attempts,
nodes, secrets, billing files and lines, cost models).

Written out, not derived from ``scheduler.store.tables``: a revision is frozen once
released, whatever the code's tables become. Types are plain SQLAlchemy ones (strings,
naive ``DateTime`` holding UTC, as ``UTCDateTime`` stores it).

Revision ID: 0001_baseline
Revises:
"""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

revision = "0001_baseline"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None


def _jobs() -> None:
    op.create_table(
        "jobs",
        sa.Column("n", sa.Integer(), nullable=False),
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("request_id", sa.String(), nullable=True),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("spec_json", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("state_reason", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("deadline", sa.DateTime(), nullable=False),
        sa.Column("finished_at", sa.DateTime(), nullable=True),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("checkpoint_progress", sa.Float(), nullable=False),
        sa.Column("checkpoint_seq", sa.Integer(), nullable=False),
        sa.Column("preemptions", sa.Integer(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("node_losses", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("planned_offering", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("n"),
        sa.UniqueConstraint("tenant", "request_id", name="uq_jobs_tenant_request"),
    )
    op.create_index(op.f("ix_jobs_id"), "jobs", ["id"], unique=True)
    op.create_index("ix_jobs_state_n", "jobs", ["state", "n"], unique=False)
    op.create_index("ix_jobs_tenant_n", "jobs", ["tenant", "n"], unique=False)


def _job_labels() -> None:
    op.create_table(
        "job_labels",
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("job_id", "key"),
    )
    op.create_index("ix_job_labels_kv", "job_labels", ["key", "value"], unique=False)


def _job_events() -> None:
    op.create_table(
        "job_events",
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("from_state", sa.String(), nullable=True),
        sa.Column("to_state", sa.String(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("reason", sa.String(), nullable=False),
        sa.Column("detail", sa.String(), nullable=False),
        sa.Column("attempt_id", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("seq"),
    )
    op.create_index(op.f("ix_job_events_job_id"), "job_events", ["job_id"], unique=False)
    op.create_index(op.f("ix_job_events_tenant"), "job_events", ["tenant"], unique=False)


def _attempts() -> None:
    op.create_table(
        "attempts",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("job_id", sa.String(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("cloud", sa.String(), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("zone", sa.String(), nullable=False),
        sa.Column("instance_type", sa.String(), nullable=False),
        sa.Column("market", sa.String(), nullable=False),
        sa.Column("price_micros_per_hour", sa.BigInteger(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("node_id", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("launched_at", sa.DateTime(), nullable=True),
        sa.Column("started_at", sa.DateTime(), nullable=True),
        sa.Column("ended_at", sa.DateTime(), nullable=True),
        sa.Column("last_heartbeat", sa.DateTime(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("preempted", sa.Boolean(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("end_reason", sa.String(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("start_progress", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_attempts_job_id"), "attempts", ["job_id"], unique=False)
    op.create_index(op.f("ix_attempts_state"), "attempts", ["state"], unique=False)


def _nodes() -> None:
    op.create_table(
        "nodes",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("cloud", sa.String(), nullable=False),
        sa.Column("region", sa.String(), nullable=False),
        sa.Column("instance_type", sa.String(), nullable=False),
        sa.Column("market", sa.String(), nullable=False),
        sa.Column("attempt_id", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("terminated_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_nodes_attempt_id"), "nodes", ["attempt_id"], unique=False)


def _secrets() -> None:
    op.create_table(
        "secrets",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("value", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def _billing_files() -> None:
    op.create_table(
        "billing_files",
        sa.Column("sha256", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("format", sa.String(), nullable=False),
        sa.Column("state", sa.String(), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("added", sa.Integer(), nullable=False),
        sa.Column("matched", sa.Integer(), nullable=False),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("billed_cost", sa.String(), nullable=False),
        sa.Column("period_start", sa.DateTime(), nullable=True),
        sa.Column("period_end", sa.DateTime(), nullable=True),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("started_at", sa.DateTime(), nullable=False),
        sa.Column("completed_at", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("sha256"),
    )


def _billing_lines() -> None:
    op.create_table(
        "billing_lines",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("file_sha256", sa.String(), nullable=False),
        sa.Column("source_row", sa.Integer(), nullable=False),
        sa.Column("provider", sa.String(), nullable=False),
        sa.Column("billing_account", sa.String(), nullable=False),
        sa.Column("sub_account", sa.String(), nullable=True),
        sa.Column("service", sa.String(), nullable=True),
        sa.Column("charge_category", sa.String(), nullable=False),
        sa.Column("charge_description", sa.String(), nullable=True),
        sa.Column("charge_period_start", sa.DateTime(), nullable=False),
        sa.Column("charge_period_end", sa.DateTime(), nullable=False),
        sa.Column("region", sa.String(), nullable=True),
        sa.Column("zone", sa.String(), nullable=True),
        sa.Column("resource_id", sa.String(), nullable=True),
        sa.Column("sku_id", sa.String(), nullable=True),
        sa.Column("instance_type", sa.String(), nullable=True),
        sa.Column("pricing_unit", sa.String(), nullable=True),
        sa.Column("pricing_quantity", sa.Float(), nullable=True),
        sa.Column("consumed_quantity", sa.Float(), nullable=True),
        sa.Column("currency", sa.String(), nullable=False),
        sa.Column("billed_cost", sa.String(), nullable=False),
        sa.Column("effective_cost", sa.String(), nullable=False),
        sa.Column("list_cost", sa.String(), nullable=True),
        sa.Column("tags_json", sa.String(), nullable=False),
        sa.Column("attempt_id", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("key"),
    )
    op.create_index(
        op.f("ix_billing_lines_attempt_id"), "billing_lines", ["attempt_id"], unique=False
    )
    op.create_index(
        "ix_billing_lines_charge_start", "billing_lines", ["charge_period_start"], unique=False
    )
    op.create_index(
        op.f("ix_billing_lines_file_sha256"), "billing_lines", ["file_sha256"], unique=False
    )


def _cost_models() -> None:
    op.create_table(
        "cost_models",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("trigger", sa.String(), nullable=False),
        sa.Column("params_json", sa.String(), nullable=False),
        sa.Column("accuracy_json", sa.String(), nullable=False),
        sa.Column("inputs_json", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("version"),
    )


#: Each table with what creates it, in creation order (a store made before migrations
#: existed lacks the tables and columns added after it; see ``legacy.adopt``).
TABLES: dict[str, Callable[[], None]] = {
    "jobs": _jobs,
    "job_labels": _job_labels,
    "job_events": _job_events,
    "attempts": _attempts,
    "nodes": _nodes,
    "secrets": _secrets,
    "billing_files": _billing_files,
    "billing_lines": _billing_lines,
    "cost_models": _cost_models,
}


def upgrade() -> None:
    for create in TABLES.values():
        create()


def downgrade() -> None:
    op.drop_table("cost_models")
    op.drop_table("billing_lines")
    op.drop_table("billing_files")
    op.drop_table("secrets")
    op.drop_table("nodes")
    op.drop_table("attempts")
    op.drop_table("job_events")
    op.drop_table("job_labels")
    op.drop_table("jobs")
