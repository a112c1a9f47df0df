"""Read a store into frames for analysis (the only module of the package that does I/O).

It reads through the store's own classes (:class:`HistoryStore`, :class:`BillingStore`,
:class:`CostModelStore`, :class:`JobStore` for the labels) and writes nothing, except
that opening a store creates the tables it lacks (as every store user does). A SQLite
file that does not exist is not created: it reads as an empty store.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from scheduler.domain import CostModelVersion
from scheduler.store import BillingStore, CostModelStore, Database, HistoryStore, JobStore
from scheduler.store.engine import sqlite_url
from scheduler.store.jobs import MAX_PAGE_SIZE

#: Columns of :attr:`StoreFrames.labels`.
LABEL_COLUMNS: tuple[str, ...] = ("job_id", "key", "value")

#: The most cost-model versions :func:`load_store` reads (newest first in the store).
MAX_VERSIONS = 1000


@dataclass(frozen=True)
class StoreFrames:
    """Everything the analysis reads, as the store gives it.

    ``attempts`` and ``jobs`` are :meth:`HistoryStore.attempts_frame` and
    :meth:`HistoryStore.jobs_frame`, ``labels`` one row per job label
    (:data:`LABEL_COLUMNS`), ``lines`` :meth:`BillingStore.lines_frame` (every stored
    line of complete files, matched or not), ``models`` the cost-model versions,
    oldest first.
    """

    url: str
    attempts: pd.DataFrame
    jobs: pd.DataFrame
    labels: pd.DataFrame
    lines: pd.DataFrame
    models: tuple[CostModelVersion, ...]
    #: False when the store did not exist (a SQLite file not there).
    exists: bool = True


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL, None for other URLs and in-memory SQLite."""
    if not url.startswith("sqlite:///"):
        return None
    path = url.removeprefix("sqlite:///").split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path)


def load_store(url: str) -> StoreFrames:
    """Read the store at ``url`` (a SQLAlchemy URL). A missing SQLite file reads as an
    empty store (``exists`` False) and is not created."""
    path = sqlite_path(url)
    if path is not None and not path.exists():
        # The same (empty) frames as from an existing store: read a throwaway one.
        with tempfile.TemporaryDirectory(prefix="skybatch-empty-") as tmp:
            empty = _read(url, Database(sqlite_url(Path(tmp) / "empty.db")))
        return replace(empty, exists=False)
    return _read(url, Database(url))


def _read(url: str, db: Database) -> StoreFrames:
    try:
        history = HistoryStore(db)
        return StoreFrames(
            url=url,
            attempts=history.attempts_frame(),
            jobs=history.jobs_frame(),
            labels=_labels(JobStore(db)),
            lines=BillingStore(db).lines_frame(),
            models=tuple(reversed(CostModelStore(db).versions(limit=MAX_VERSIONS))),
        )
    finally:
        db.close()


def _labels(jobs: JobStore) -> pd.DataFrame:
    records: list[tuple[str, str, str]] = []
    token = ""
    while True:
        page, token = jobs.list_page(None, page_size=MAX_PAGE_SIZE, page_token=token)
        records.extend((j.id, k, v) for j in page for k, v in sorted(j.spec.labels.items()))
        if not token:
            break
    return pd.DataFrame.from_records(records, columns=list(LABEL_COLUMNS)).astype(str)
