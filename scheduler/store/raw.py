"""For the bulk write paths that bypass the ORM (submissions, billing lines): a
model's Core table, and times as SQLAlchemy's SQLite ``DateTime`` stores them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Table
from sqlmodel import SQLModel


def table_of(model: type[SQLModel]) -> Table:
    table = model.__table__  # type: ignore[attr-defined]
    assert isinstance(table, Table)
    return table


class SqliteTimes:
    """``times(t)``: an aware time as the text SQLite's ``DateTime`` column holds (what
    ``UTCDateTime`` reads back); each distinct time is formatted once (a batch shares
    one clock reading, bills repeat the same hour boundaries)."""

    def __init__(self) -> None:
        self._done: dict[datetime, str] = {}

    def __call__(self, t: datetime) -> str:
        text = self._done.get(t)
        if text is None:
            if t.tzinfo is None:
                raise ValueError("naive datetime: skybatch stores timezone-aware UTC only")
            naive = t.astimezone(UTC).replace(tzinfo=None)
            text = self._done[t] = naive.isoformat(sep=" ", timespec="microseconds")
        return text
