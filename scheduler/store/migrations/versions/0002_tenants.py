"""Tenants, their bearer tokens (SHA-256 of the secret only) and budgets.

Written out, not derived from ``scheduler.store.tables`` (a released revision is
frozen). Times are naive ``DateTime`` holding UTC, as ``UTCDateTime`` stores them;
money is integer micro-dollars.

Revision ID: 0002_tenants
Revises: 0001_baseline
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_tenants"
down_revision: str | None = "0001_baseline"
branch_labels: str | None = None
depends_on: str | None = None

#: The tables this revision creates.
TABLES = ("tenants", "tokens", "budgets")


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "tokens",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("secret_sha256", sa.String(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(), nullable=True),
        sa.Column("expires_at", sa.DateTime(), nullable=True),
        sa.Column("description", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(op.f("ix_tokens_tenant"), "tokens", ["tenant"], unique=False)
    op.create_table(
        "budgets",
        sa.Column("tenant", sa.String(), nullable=False),
        sa.Column("window", sa.String(), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("period_start", sa.DateTime(), nullable=True),
        sa.Column("period_end", sa.DateTime(), nullable=True),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("tenant", "window"),
    )


def downgrade() -> None:
    op.drop_table("budgets")
    op.drop_index(op.f("ix_tokens_tenant"), table_name="tokens")
    op.drop_table("tokens")
    op.drop_table("tenants")
