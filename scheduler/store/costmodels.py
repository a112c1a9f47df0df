"""Cost-model versions: each refit appends one; the newest is the one in use.

Parameters, accuracy and inputs are stored as JSON documents so that a version can be
shown, compared and audited long after the code that fitted it changed.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func
from sqlmodel import col, select

from scheduler.domain import CostModelVersion
from scheduler.store.database import Database
from scheduler.store.tables import CostModelRow


def _version(row: CostModelRow) -> CostModelVersion:
    assert row.version is not None
    return CostModelVersion(
        version=row.version,
        created_at=row.created_at,
        trigger=row.trigger,
        params=json.loads(row.params_json),
        accuracy=json.loads(row.accuracy_json),
        inputs=json.loads(row.inputs_json),
    )


class CostModelStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    def save(
        self,
        *,
        params: dict[str, Any],
        accuracy: dict[str, Any],
        inputs: dict[str, Any],
        trigger: str,
        now: datetime,
    ) -> CostModelVersion:
        with self.db.write() as s:
            row = CostModelRow(
                created_at=now,
                trigger=trigger,
                params_json=json.dumps(params, sort_keys=True),
                accuracy_json=json.dumps(accuracy, sort_keys=True),
                inputs_json=json.dumps(inputs, sort_keys=True),
            )
            s.add(row)
            s.flush()
            return _version(row)

    def newest_version(self) -> int:
        """The newest version number, 0 when nothing was fitted yet (cheap to poll)."""
        with self.db.read() as s:
            return int(s.exec(select(func.max(CostModelRow.version))).one() or 0)

    def newest(self) -> CostModelVersion | None:
        with self.db.read() as s:
            row = s.exec(
                select(CostModelRow).order_by(col(CostModelRow.version).desc()).limit(1)
            ).first()
            return _version(row) if row is not None else None

    def get(self, version: int) -> CostModelVersion | None:
        with self.db.read() as s:
            row = s.get(CostModelRow, version)
            return _version(row) if row is not None else None

    def versions(self, limit: int = 50) -> list[CostModelVersion]:
        with self.db.read() as s:
            rows = s.exec(
                select(CostModelRow).order_by(col(CostModelRow.version).desc()).limit(limit)
            ).all()
            return [_version(r) for r in rows]
