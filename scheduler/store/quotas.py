"""Admin caps on quota pools: set (replacing), clear, list.

The planner reads :meth:`QuotaStore.limits` at every tick (one small query), so a cap
applies from the next plan. Which pools exist is the clouds' business: callers check a
pool against the catalog before setting a cap on it (``scheduler.api.admin_quotas``).
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import col, select

from scheduler.quotas import QuotaCap, check_limit, check_note, check_pool_id
from scheduler.store.database import Database
from scheduler.store.tables import QuotaCapRow


def _cap(row: QuotaCapRow) -> QuotaCap:
    return QuotaCap(row.pool, row.limit_units, row.set_at, row.set_by, row.note)


class QuotaStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def set_cap(
        self, pool: str, limit: float, now: datetime, *, set_by: str, note: str = ""
    ) -> QuotaCap:
        """Cap ``pool`` at ``limit`` units; a cap already there is replaced."""
        check_pool_id(pool)
        check_limit(limit)
        check_note(note)
        with self.db.write() as s:
            row = s.get(QuotaCapRow, pool) or QuotaCapRow(
                pool=pool, limit_units=limit, set_at=now, set_by=set_by
            )
            row.limit_units = float(limit)
            row.set_at = now
            row.set_by = set_by
            row.note = note
            s.add(row)
            return _cap(row)

    def clear_cap(self, pool: str) -> QuotaCap | None:
        """Remove the cap on ``pool``: the cap removed, or None when there was none
        (idempotent)."""
        with self.db.write() as s:
            row = s.get(QuotaCapRow, pool)
            if row is None:
                return None
            cap = _cap(row)
            s.delete(row)
            return cap

    def caps(self) -> list[QuotaCap]:
        with self.db.read() as s:
            return [_cap(r) for r in s.exec(select(QuotaCapRow).order_by(col(QuotaCapRow.pool)))]

    def limits(self) -> dict[str, float]:
        """pool -> cap: what the planner reads every tick."""
        with self.db.read() as s:
            rows = s.exec(select(QuotaCapRow.pool, QuotaCapRow.limit_units)).all()
            return {pool: limit for pool, limit in rows}
