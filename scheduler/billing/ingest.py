"""Ingest one billing file into the store.

1. Hash the file: a file already ingested completely is a no-op.
2. Record it as ``ingesting`` and read it once, chunk by chunk: each chunk is
   validated, matched to attempts where it can be, and stored (lines already stored,
   same content key, are skipped, so running it twice adds nothing).
3. A bad chunk stops the ingest: the lines this file added are deleted again, and the
   whole file is checked once more so the error names every problem by column and
   row. Nothing of a bad file stays.
4. Otherwise the file turns ``complete`` (only complete files feed the cost model),
   and the report says what matched and what did not.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd

from adapters.billing import (
    DEFAULT_CHUNK_ROWS,
    BillingFileError,
    bill_format,
    iter_bill,
    summarize_bill,
)
from scheduler.billing.match import match_attempts
from scheduler.store import BillingStore, FileTotals

#: Called with (rows done, rows in the file or 0 when not known yet) as lines go in.
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class IngestReport:
    name: str
    sha256: str
    format: str
    rows: int
    #: Lines stored by this ingest (0 when the file, or its lines, were seen before).
    added: int
    #: Lines of this file that pay for one of our attempts.
    matched: int
    billed_cost: Decimal
    matched_cost: Decimal
    period_start: datetime | None
    period_end: datetime | None
    already_ingested: bool
    #: The biggest groups of lines no attempt claims: (provider / service, lines, cost).
    unmatched: tuple[tuple[str, int, Decimal], ...]

    @property
    def unmatched_rows(self) -> int:
        return self.rows - self.matched


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


#: billing_lines column <- bill frame column (FOCUS names), copied as they are.
_COPIED = {
    "provider": "ProviderName",
    "billing_account": "BillingAccountId",
    "sub_account": "SubAccountId",
    "service": "ServiceName",
    "charge_category": "ChargeCategory",
    "charge_description": "ChargeDescription",
    "region": "RegionId",
    "zone": "AvailabilityZone",
    "resource_id": "ResourceId",
    "sku_id": "SkuId",
    "instance_type": "x_InstanceType",
    "pricing_unit": "PricingUnit",
    "pricing_quantity": "PricingQuantity",
    "consumed_quantity": "ConsumedQuantity",
    "currency": "BillingCurrency",
}


_FLOATS = frozenset({"PricingQuantity", "ConsumedQuantity"})


def _nulls(values: list[Any]) -> list[Any]:
    """NaN (a float column's null) as None; strings and None as they are."""
    return [None if isinstance(v, float) and math.isnan(v) else v for v in values]


def line_columns(
    chunk: pd.DataFrame, file_sha: str, attempt_ids: list[str | None]
) -> dict[str, list[Any]]:
    """The ``billing_lines`` columns of a bill frame chunk, column by column (money as
    exact decimal text, times as aware datetimes)."""
    # Text columns hold str or None; only the float ones have NaN for null.
    columns = {
        name: _nulls(chunk[source].tolist()) if source in _FLOATS else chunk[source].tolist()
        for name, source in _COPIED.items()
    }
    columns["key"] = chunk["x_RowKey"].tolist()
    columns["source_row"] = chunk["x_SourceRow"].astype("int64").tolist()
    columns["charge_period_start"] = list(chunk["ChargePeriodStart"].dt.to_pydatetime())
    columns["charge_period_end"] = list(chunk["ChargePeriodEnd"].dt.to_pydatetime())
    for name, source in (("billed_cost", "BilledCost"), ("effective_cost", "EffectiveCost")):
        columns[name] = [format(v, "f") for v in chunk[source].tolist()]
    columns["list_cost"] = [
        None if v is None else format(v, "f") for v in _nulls(chunk["ListCost"].tolist())
    ]
    columns["tags_json"] = [json.dumps(t, sort_keys=True) if t else "{}" for t in chunk["Tags"]]
    columns["attempt_id"] = attempt_ids
    columns["file_sha256"] = [file_sha] * len(chunk)
    return columns


def ingest_file(
    store: BillingStore,
    path: Path,
    *,
    now: datetime,
    source: str = "",
    name: str | None = None,
    progress: Progress | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> IngestReport:
    """Ingest ``path`` (see the module docstring). Raises ``BillingFileError`` for a
    file that is not a valid bill; nothing of it is stored then."""
    sha = file_sha256(path)
    done = store.file(sha)
    if done is not None and done.state == "complete":
        return _report(store, done.sha256, already=True)
    fmt = bill_format(path)  # a file that is no bill at all is refused before anything
    store.begin_file(sha256=sha, name=name or path.name, format=str(fmt), source=source, now=now)
    try:
        totals = _store_lines(store, path, sha, progress, chunk_rows)
    except BillingFileError as first:
        store.discard_file(sha)
        # The first bad chunk stopped the ingest; name every problem of the file.
        summarize_bill(path)
        raise first from None
    except BaseException:
        store.discard_file(sha)
        raise
    store.complete_file(sha, totals=totals, now=now)
    return _report(store, sha, already=False)


def _store_lines(
    store: BillingStore, path: Path, sha: str, progress: Progress | None, chunk_rows: int
) -> FileTotals:
    """One pass: every chunk is checked (``iter_bill`` raises on a bad one), matched and
    stored; the file's totals are added up on the way."""
    attempts, nodes = store.attempt_index()
    rows = added = 0
    billed = Decimal(0)
    currency = ""
    first: datetime | None = None
    last: datetime | None = None
    for chunk in iter_bill(path, chunk_rows=chunk_rows):
        matched = match_attempts(chunk, attempts, nodes)
        added += store.add_lines(line_columns(chunk, sha, matched))
        rows += len(chunk)
        billed += sum(chunk["BilledCost"].tolist(), Decimal(0))
        currency = currency or str(chunk["BillingCurrency"].iloc[0])
        lo = chunk["ChargePeriodStart"].min().to_pydatetime()
        hi = chunk["ChargePeriodEnd"].max().to_pydatetime()
        first = lo if first is None else min(first, lo)
        last = hi if last is None else max(last, hi)
        if progress is not None:
            progress(rows, 0)
    return FileTotals(rows, added, currency, billed, first, last)


def _report(store: BillingStore, sha: str, *, already: bool) -> IngestReport:
    f = store.file(sha)
    assert f is not None
    return IngestReport(
        name=f.name,
        sha256=f.sha256,
        format=f.format,
        rows=f.rows,
        added=0 if already else f.added,
        matched=f.matched,
        billed_cost=f.billed_cost,
        matched_cost=store.matched_cost(sha),
        period_start=f.period_start,
        period_end=f.period_end,
        already_ingested=already,
        unmatched=tuple(store.unmatched_summary(sha)),
    )
