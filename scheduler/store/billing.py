"""Billed line items and the files they came from.

A file is recorded first as ``ingesting``, its lines go in chunk by chunk (each chunk
one short write transaction, so the API never waits long behind an ingest), and the
file turns ``complete`` last. Lines are keyed by their content hash: inserting a chunk
again adds nothing, so an interrupted ingest is finished by running it again.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd
from sqlalchemy import delete, func, insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import col, select

from scheduler.store.database import Database
from scheduler.store.raw import SqliteTimes, table_of
from scheduler.store.tables import AttemptRow, BillingFileRow, BillingLineRow, NodeRow

COMPLETE = "complete"
INGESTING = "ingesting"


@dataclass(frozen=True)
class FileTotals:
    """What one pass over a bill added up."""

    rows: int
    #: Lines stored by this ingest (not already known).
    added: int
    currency: str
    billed_cost: Decimal
    period_start: datetime | None
    period_end: datetime | None


@dataclass(frozen=True)
class BillingFile:
    sha256: str
    name: str
    format: str
    state: str
    rows: int
    added: int
    matched: int
    currency: str
    billed_cost: Decimal
    period_start: datetime | None
    period_end: datetime | None
    source: str
    started_at: datetime
    completed_at: datetime | None


def _file(row: BillingFileRow) -> BillingFile:
    return BillingFile(
        sha256=row.sha256,
        name=row.name,
        format=row.format,
        state=row.state,
        rows=row.rows,
        added=row.added,
        matched=row.matched,
        currency=row.currency,
        billed_cost=Decimal(row.billed_cost),
        period_start=row.period_start,
        period_end=row.period_end,
        source=row.source,
        started_at=row.started_at,
        completed_at=row.completed_at,
    )


#: The columns of :meth:`BillingStore.lines_frame`, in order.
LINE_COLUMNS = (
    "key",
    "attempt_id",
    "provider",
    "service",
    "charge_category",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "region",
    "zone",
    "resource_id",
    "sku_id",
    "instance_type",
    "PricingUnit",
    "PricingQuantity",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "tags_json",
)


class BillingStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- files ---------------------------------------------------------------------

    def file(self, sha256: str) -> BillingFile | None:
        with self.db.read() as s:
            row = s.get(BillingFileRow, sha256)
            return _file(row) if row is not None else None

    def files(self) -> list[BillingFile]:
        with self.db.read() as s:
            rows = s.exec(select(BillingFileRow).order_by(col(BillingFileRow.started_at))).all()
            return [_file(r) for r in rows]

    def begin_file(
        self, *, sha256: str, name: str, format: str, source: str, now: datetime
    ) -> bool:
        """Record a file as being ingested. False when it is already complete."""
        with self.db.write() as s:
            row = s.get(BillingFileRow, sha256)
            if row is not None and row.state == COMPLETE:
                return False
            if row is None:
                row = BillingFileRow(
                    sha256=sha256, name=name, format=format, state=INGESTING, started_at=now
                )
            row.name, row.format, row.source = name, format, source
            s.add(row)
            return True

    def discard_file(self, sha256: str) -> None:
        """Forget an ingest that failed: the file's row and the lines it added."""
        with self.db.write() as s:
            s.execute(delete(BillingLineRow).where(col(BillingLineRow.file_sha256) == sha256))
            s.execute(delete(BillingFileRow).where(col(BillingFileRow.sha256) == sha256))

    def complete_file(self, sha256: str, *, totals: FileTotals, now: datetime) -> BillingFile:
        """Mark the file complete with its totals; count its lines that matched."""
        with self.db.write() as s:
            row = s.get(BillingFileRow, sha256)
            if row is None:
                raise KeyError(sha256)
            row.rows, row.added, row.currency = totals.rows, totals.added, totals.currency
            row.billed_cost = format(totals.billed_cost, "f")
            row.period_start, row.period_end = totals.period_start, totals.period_end
            row.matched = s.exec(
                select(func.count()).where(
                    col(BillingLineRow.file_sha256) == sha256,
                    col(BillingLineRow.attempt_id).is_not(None),
                )
            ).one()
            row.state = COMPLETE
            row.completed_at = now
            s.add(row)
            s.flush()
            return _file(row)

    # -- lines ---------------------------------------------------------------------

    def add_lines(self, columns: Mapping[str, Sequence[Any]]) -> int:
        """Insert lines given column by column (:class:`BillingLineRow` field names, times
        aware); lines already stored (same key) are left alone. Returns how many were new.

        On SQLite the rows go straight to the driver's ``executemany``: per-row parameter
        processing in SQLAlchemy would double the time of a million-line ingest."""
        names = list(columns)
        n = len(columns[names[0]]) if names else 0
        if n == 0:
            return 0
        dialect = self.db.engine.dialect.name
        with self.db.write() as s:
            conn = s.connection()
            if dialect == "sqlite":
                at = SqliteTimes()
                values = [
                    [at(t) for t in columns[c]] if c in _TIME_COLUMNS else columns[c] for c in names
                ]
                sql = (
                    f"INSERT INTO billing_lines ({', '.join(names)}) "
                    f"VALUES ({', '.join('?' * len(names))}) ON CONFLICT (key) DO NOTHING"
                )
                result = conn.exec_driver_sql(sql, list(zip(*values, strict=True)))
            else:
                rows = [
                    dict(zip(names, row, strict=True))
                    for row in zip(*columns.values(), strict=True)
                ]
                if dialect == "postgresql":
                    # psycopg's executemany reports no row count: count the keys that
                    # went in (SQLAlchemy batches these into multi-row VALUES).
                    stmt = _insert_ignore(dialect).returning(table_of(BillingLineRow).c.key)
                    return len(conn.execute(stmt, rows).all())
                result = conn.execute(_insert_ignore(dialect), rows)
            return max(0, result.rowcount)

    def attempt_index(self) -> tuple[set[str], dict[str, str]]:
        """Every attempt id, and node id -> attempt id, to match line items against."""
        with self.db.read() as s:
            attempts = set(s.exec(select(AttemptRow.id)).all())
            nodes = {n: a for n, a in s.exec(select(NodeRow.id, NodeRow.attempt_id)).all()}
            for node_id, attempt_id in s.exec(
                select(AttemptRow.node_id, AttemptRow.id).where(col(AttemptRow.node_id) != "")
            ).all():
                nodes.setdefault(node_id, attempt_id)
            return attempts, nodes

    def lines_frame(self, *, matched_only: bool = False) -> pd.DataFrame:
        """Stored lines of complete files, with FOCUS names for what the refit reads:
        money columns hold exact ``Decimal``\\ s, times are UTC."""
        stmt = (
            select(BillingLineRow)
            .join(BillingFileRow, col(BillingFileRow.sha256) == col(BillingLineRow.file_sha256))
            .where(col(BillingFileRow.state) == COMPLETE)
        )
        if matched_only:
            stmt = stmt.where(col(BillingLineRow.attempt_id).is_not(None))
        with self.db.read() as s:
            rows = s.exec(stmt.order_by(col(BillingLineRow.key))).all()
        return lines_to_frame(rows)

    def matched_cost(self, sha256: str) -> Decimal:
        """What the file's lines that pay for our attempts cost, exactly."""
        with self.db.read() as s:
            costs = s.exec(
                select(BillingLineRow.billed_cost).where(
                    col(BillingLineRow.file_sha256) == sha256,
                    col(BillingLineRow.attempt_id).is_not(None),
                )
            ).all()
        return sum((Decimal(c) for c in costs), Decimal(0))

    def unmatched_summary(self, sha256: str, *, limit: int = 10) -> list[tuple[str, int, Decimal]]:
        """The largest groups of a file's lines no attempt claims: (provider / service,
        lines, billed cost), biggest cost first."""
        with self.db.read() as s:
            rows = s.exec(
                select(
                    BillingLineRow.provider, BillingLineRow.service, BillingLineRow.billed_cost
                ).where(
                    col(BillingLineRow.file_sha256) == sha256,
                    col(BillingLineRow.attempt_id).is_(None),
                )
            ).all()
        groups: dict[str, tuple[int, Decimal]] = {}
        for provider, service, cost in rows:
            name = f"{provider} / {service or '-'}"
            n, total = groups.get(name, (0, Decimal(0)))
            groups[name] = (n + 1, total + Decimal(cost))
        ranked = sorted(groups.items(), key=lambda kv: (-kv[1][1], kv[0]))
        return [(name, n, total) for name, (n, total) in ranked[:limit]]


_TIME_COLUMNS = frozenset({"charge_period_start", "charge_period_end"})


def _insert_ignore(dialect: str) -> Any:
    table = table_of(BillingLineRow)
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["key"])
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["key"])
    return insert(table).prefix_with("IGNORE")


def lines_to_frame(rows: Iterable[BillingLineRow]) -> pd.DataFrame:
    records = [
        (
            r.key,
            r.attempt_id,
            r.provider,
            r.service,
            r.charge_category,
            r.charge_period_start,
            r.charge_period_end,
            r.region,
            r.zone,
            r.resource_id,
            r.sku_id,
            r.instance_type,
            r.pricing_unit,
            r.pricing_quantity,
            Decimal(r.billed_cost),
            Decimal(r.effective_cost),
            Decimal(r.list_cost) if r.list_cost is not None else None,
            r.tags_json,
        )
        for r in rows
    ]
    frame = pd.DataFrame.from_records(records, columns=list(LINE_COLUMNS))
    for name in ("ChargePeriodStart", "ChargePeriodEnd"):
        frame[name] = pd.to_datetime(frame[name], utc=True)
    frame["PricingQuantity"] = frame["PricingQuantity"].astype("float64")
    return frame
