"""Ingest one billing file into the store.

1. Hash the file: a file already ingested completely is a no-op.
2. Validate all of it (``summarize_bill``) before storing anything: a bad file is
   refused with the column and row of every problem, and nothing of it is stored.
3. Store its lines chunk by chunk, each matched to an attempt where it can be; lines
   already stored (same content key) are skipped, so running it twice adds nothing.
4. Mark the file complete and report what matched and what did not.
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

from adapters.billing import iter_bill, summarize_bill
from scheduler.billing.match import match_attempts
from scheduler.store import BillingStore

#: Called with (rows done, rows in the file) as the lines go in.
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
) -> IngestReport:
    """Ingest ``path`` (see the module docstring). Raises ``BillingFileError`` for a
    file that is not a valid bill; nothing of it is stored then."""
    sha = file_sha256(path)
    display = name or path.name
    done = store.file(sha)
    if done is not None and done.state == "complete":
        return _report(store, done.sha256, already=True)
    summary = summarize_bill(path)
    store.begin_file(
        sha256=sha,
        name=display,
        format=str(summary.format),
        rows=summary.rows,
        currency=summary.currency,
        billed_cost=summary.billed_cost,
        period=(summary.charge_period_start, summary.charge_period_end),
        source=source,
        now=now,
    )
    attempts, nodes = store.attempt_index()
    seen = added = 0
    for chunk in iter_bill(path):
        matched = match_attempts(chunk, attempts, nodes)
        added += store.add_lines(line_columns(chunk, sha, matched))
        seen += len(chunk)
        if progress is not None:
            progress(seen, summary.rows)
    store.complete_file(sha, added=added, now=now)
    return _report(store, sha, already=False)


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
