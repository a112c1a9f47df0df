"""Fetch a cloud's bill on a schedule and ingest it (the local cloud writes FOCUS 1.2).

Each fetch writes the whole bill up to now; the cloud bills only node-hours that are
final, and lines are stored by content, so every fetch adds just what is new. When
something new arrived, the cost model is told (it refits on its own thread).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from scheduler.billing import IngestReport, ingest_file
from scheduler.control.costmodel import CostModelKeeper
from scheduler.store import BillingStore

log = logging.getLogger(__name__)

#: Writes the bill up to ``until`` to the path; returns its row count.
WriteBill = Callable[[Path, datetime], int]


class BillingFeed:
    def __init__(
        self,
        name: str,
        write_bill: WriteBill,
        billing: BillingStore,
        keeper: CostModelKeeper,
        *,
        spool_dir: Path,
        clock: Callable[[], datetime],
        interval_s: float,
    ) -> None:
        self.name = name
        self.write_bill = write_bill
        self.billing = billing
        self.keeper = keeper
        self.path = spool_dir / f"{name}-focus.csv"
        self.clock = clock
        self.interval_s = interval_s

    def fetch(self) -> IngestReport | None:
        """Write and ingest the bill now; None when it has no rows yet."""
        now = self.clock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.write_bill(self.path, now) == 0:
            return None
        report = ingest_file(self.billing, self.path, now=now, source=f"{self.name} cloud")
        if report.added:
            log.info(
                "ingested %d new line items of the %s cloud's bill (%d matched)",
                report.added,
                self.name,
                report.matched,
            )
            self.keeper.billing_arrived()
        return report

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval_s):
            try:
                self.fetch()
            except Exception:
                log.exception("fetching the %s cloud's bill failed; retrying later", self.name)
