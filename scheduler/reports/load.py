"""Read what the SLA report needs from a store (the package's only I/O).

Through the store's own classes: :class:`HistoryStore` for the job and attempt frames,
:class:`JobStore` for what those frames lack (labels, GPU count, checkpoint) and for
the events of the jobs reported. A live server's store and a simulation's store read
the same way. Nothing is written.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from adapters.local import build_catalog
from scheduler.analysis import local_price_table
from scheduler.analysis.load import LABEL_COLUMNS
from scheduler.reports.sla import EVENT_COLUMNS, SlaInputs
from scheduler.store import Database, HistoryStore, JobStore
from scheduler.store.jobs import MAX_PAGE_SIZE

#: Job ids per events query (the size of its ``IN`` list).
EVENT_CHUNK = 500
LOCAL_CATALOG = "the local cloud's price list"


def load_inputs(
    db: Database,
    *,
    prices: pd.DataFrame | None,
    price_catalog: str,
    start: datetime | None = None,
    end: datetime | None = None,
    tenant: str | None = None,
) -> SlaInputs:
    """Every job and attempt of the store at ``db``, and the events of the jobs that
    finished in ``[start, end)`` (of ``tenant``, if given): all the report reads."""
    history = HistoryStore(db)
    jobs = history.jobs_frame()
    # Read after the jobs frame, so that every job in it is here too (rows never go).
    extra, labels = _extras(JobStore(db))
    jobs = jobs.merge(extra, on="job_id", how="left")
    jobs["gpu_count"] = jobs["gpu_count"].fillna(0).astype("int64")
    jobs["checkpoint_progress"] = jobs["checkpoint_progress"].fillna(0.0).astype("float64")
    attempts = history.attempts_frame()
    finished = jobs[jobs["finished_at"].notna()]
    if start is not None:
        finished = finished[finished["finished_at"] >= start]
    if end is not None:
        finished = finished[finished["finished_at"] < end]
    if tenant:
        finished = finished[finished["tenant"] == tenant]
    events = _events(JobStore(db), [str(j) for j in finished["job_id"]])
    return SlaInputs(
        jobs=jobs,
        attempts=attempts,
        events=events,
        labels=labels,
        prices=prices,
        price_catalog=price_catalog,
    )


def read_store(
    url: str,
    *,
    start: datetime | None = None,
    end: datetime | None = None,
    tenant: str | None = None,
) -> SlaInputs:
    """:func:`load_inputs` of the store at ``url``, pricing the savings with the local
    cloud's price list (where the store's own on-demand attempts do not say)."""
    db = Database(url)
    try:
        return load_inputs(
            db,
            prices=local_price_table(build_catalog()),
            price_catalog=LOCAL_CATALOG,
            start=start,
            end=end,
            tenant=tenant,
        )
    finally:
        db.close()


def _extras(store: JobStore) -> tuple[pd.DataFrame, pd.DataFrame]:
    extra: list[tuple[str, int, float]] = []
    labels: list[tuple[str, str, str]] = []
    token = ""
    while True:
        page, token = store.list_page(None, page_size=MAX_PAGE_SIZE, page_token=token)
        for j in page:
            extra.append((j.id, j.spec.resources.gpu_count, j.checkpoint_progress))
            labels.extend((j.id, k, v) for k, v in sorted(j.spec.labels.items()))
        if not token:
            break
    extra_frame = pd.DataFrame.from_records(
        extra, columns=["job_id", "gpu_count", "checkpoint_progress"]
    )
    extra_frame["job_id"] = extra_frame["job_id"].astype(str)
    return extra_frame, pd.DataFrame.from_records(labels, columns=list(LABEL_COLUMNS)).astype(str)


def _events(store: JobStore, job_ids: Sequence[str]) -> pd.DataFrame:
    rows: list[tuple[object, ...]] = []
    for i in range(0, len(job_ids), EVENT_CHUNK):
        chunk = job_ids[i : i + EVENT_CHUNK]
        after = 0
        while True:
            page = store.events_after(None, after, job_ids=chunk, limit=MAX_PAGE_SIZE)
            rows.extend(
                (
                    e.seq,
                    e.job_id,
                    e.from_state.value if e.from_state else "",
                    e.to_state.value,
                    e.at,
                    e.reason,
                    e.detail,
                    e.attempt_id,
                )
                for e in page
            )
            if len(page) < MAX_PAGE_SIZE:
                break
            after = page[-1].seq
    frame = pd.DataFrame.from_records(rows, columns=list(EVENT_COLUMNS))
    frame["at"] = pd.to_datetime(frame["at"], utc=True)
    return frame
