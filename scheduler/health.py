"""Whether the service can do its work: a watcher that probes the store every few
seconds and tells its listeners (gRPC health, ``/healthz``, ``skybatch_store_up``)
when the answer changes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)


class StoreWatcher:
    """``probe()`` answers "is the store reachable now?" (it must not raise or hang long)."""

    def __init__(
        self,
        probe: Callable[[], bool],
        *,
        interval_s: float = 2.0,
        listeners: Sequence[Callable[[bool], None]] = (),
    ) -> None:
        self.probe = probe
        self.interval_s = interval_s
        self.listeners = list(listeners)
        self.up: bool | None = None

    def check(self) -> bool:
        """Probe now; tell the listeners when the state changed (and the first time)."""
        up = self.probe()
        if up != self.up:
            if self.up is not None:
                if up:
                    log.info("store reachable again: serving")
                else:
                    log.error("store unreachable: health is NOT_SERVING until it answers")
            self.up = up
            for listener in self.listeners:
                listener(up)
        return up

    def run(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:
                log.exception("store health probe failed")
