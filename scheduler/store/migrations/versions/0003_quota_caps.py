"""Admin caps on quota pools.

Written out, not derived from ``scheduler.store.tables`` (a released revision is
frozen). Times are naive ``DateTime`` holding UTC, as ``UTCDateTime`` stores them.

Revision ID: 0003_quota_caps
Revises: 0002_tenants
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_quota_caps"
down_revision: str | None = "0002_tenants"
branch_labels: str | None = None
depends_on: str | None = None

#: The tables this revision creates.
TABLES = ("quota_caps",)


def upgrade() -> None:
    op.create_table(
        "quota_caps",
        sa.Column("pool", sa.String(), nullable=False),
        sa.Column("limit_units", sa.Float(), nullable=False),
        sa.Column("set_at", sa.DateTime(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=False),
        sa.Column("note", sa.String(), nullable=False),
        sa.PrimaryKeyConstraint("pool"),
    )


def downgrade() -> None:
    op.drop_table("quota_caps")
