"""Keeps the cost model the planner uses current, and refits it off the planning path.

The planner asks :meth:`CostModelKeeper.current` once per tick: one cheap query for
the newest version number, and the parameters are reloaded only when it moved (so a
refit by another process, or ``skybatch costmodel refit``, is picked up too).

Refits run on the keeper's own thread (:meth:`run`): when new billing data arrived,
and on a schedule when there is new history since the last fit. A refit reads the
store, fits (pure, :mod:`scheduler.costs`) and appends a version; it never holds a
lock the planner needs, so planning goes on while it works.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime

import pandas as pd

from scheduler.costs import CostModel, RefitSettings, refit
from scheduler.domain import CostModelVersion
from scheduler.offerings import OfferingCatalog
from scheduler.store import BillingStore, CostModelStore, HistoryStore

log = logging.getLogger(__name__)

#: FOCUS charge category of the line items that pay for running nodes.
USAGE = "Usage"


class CostModelKeeper:
    def __init__(
        self,
        history: HistoryStore,
        billing: BillingStore,
        models: CostModelStore,
        catalog: OfferingCatalog,
        *,
        clock: Callable[[], datetime],
        interval_s: float = 3600.0,
        settings: RefitSettings | None = None,
    ) -> None:
        self.history = history
        self.billing = billing
        self.models = models
        self.catalog = catalog
        self.clock = clock
        self.interval_s = interval_s
        self.settings = settings or RefitSettings()
        self._version = 0
        self._model = CostModel.catalog()
        self._wake = threading.Event()
        self._billing_pending = False
        self._refit_lock = threading.Lock()
        self._fitted_on: tuple[int, int] | None = None

    # -- the planner's side -----------------------------------------------------------

    def current(self) -> tuple[int, CostModel]:
        """The newest version and its model (version 0: the catalog, nothing fitted)."""
        newest = self.models.newest_version()
        if newest != self._version:
            record = self.models.get(newest)
            if record is not None:
                self._model = CostModel.from_json(record.params)
                self._version = newest
                log.info("planning with cost model v%d", newest)
        return self._version, self._model

    # -- refits -----------------------------------------------------------------------

    def wake(self) -> None:
        """Wake the refit thread (to notice a stop, or to refit if data arrived)."""
        self._wake.set()

    def billing_arrived(self) -> None:
        """New billing lines were stored: refit soon (on the keeper's thread)."""
        self._billing_pending = True
        self._wake.set()

    def refit_now(self, *, trigger: str) -> CostModelVersion:
        """Fit on all history and billing and store the result as the newest version."""
        with self._refit_lock:
            started = time.perf_counter()
            attempts = self.history.attempts_frame()
            jobs = self.history.jobs_frame()
            lines = self.billing.lines_frame(matched_only=True)
            usage = lines[lines["charge_category"] == USAGE]
            result = refit(attempts, jobs, usage, self.catalog.offerings(), settings=self.settings)
            inputs = dict(result.inputs)
            inputs["billing_lines"] = len(usage)
            inputs["fit_seconds"] = round(time.perf_counter() - started, 3)
            version = self.models.save(
                params=result.params.to_json(),
                accuracy=result.accuracy,
                inputs=inputs,
                trigger=trigger,
                now=self.clock(),
            )
            self._fitted_on = _fingerprint(attempts, lines)
            log.info(
                "refitted cost model v%d (%s) in %.2f s from %d attempts, %d billed lines",
                version.version,
                trigger,
                inputs["fit_seconds"],
                len(attempts),
                len(usage),
            )
            return version

    def run(self, stop: threading.Event) -> None:
        """Refit on new billing data and every ``interval_s`` when history moved."""
        while not stop.is_set():
            self._wake.wait(self.interval_s or None)  # 0: only on new billing data
            self._wake.clear()
            if stop.is_set():
                return
            trigger = "billing" if self._billing_pending else "schedule"
            self._billing_pending = False
            try:
                if trigger == "schedule" and not self._history_moved():
                    continue
                self.refit_now(trigger=trigger)
            except Exception:
                log.exception("cost model refit failed; the planner keeps v%d", self._version)

    def _history_moved(self) -> bool:
        attempts = self.history.attempts_frame()
        lines = self.billing.lines_frame(matched_only=True)
        return _fingerprint(attempts, lines) != self._fitted_on


def _fingerprint(attempts: pd.DataFrame, lines: pd.DataFrame) -> tuple[int, int]:
    ended = int(attempts["ended_at"].notna().sum()) if len(attempts) else 0
    return ended, len(lines)
