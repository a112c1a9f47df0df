"""What can be bought right now, across every configured cloud (cached briefly)."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from adapters.base import CloudError, CloudPort, Offering, QuotaLimit


class OfferingCatalog:
    def __init__(self, clouds: Sequence[CloudPort], ttl_s: float = 60.0) -> None:
        self.clouds = {c.name: c for c in clouds}
        self._ttl_s = ttl_s
        self._lock = threading.Lock()
        self._cached: tuple[float, list[Offering], list[QuotaLimit]] | None = None

    def _refresh(self) -> tuple[list[Offering], list[QuotaLimit]]:
        with self._lock:
            now = time.monotonic()
            if self._cached is None or now - self._cached[0] > self._ttl_s:
                offerings: list[Offering] = []
                quotas: list[QuotaLimit] = []
                for cloud in self.clouds.values():
                    try:
                        offerings.extend(cloud.list_offerings())
                        quotas.extend(cloud.quotas())
                    except CloudError:
                        # Keep serving the other clouds; this one is retried next refresh.
                        continue
                self._cached = (now, offerings, quotas)
            return self._cached[1], self._cached[2]

    def offerings(self) -> list[Offering]:
        return self._refresh()[0]

    def quotas(self) -> list[QuotaLimit]:
        return self._refresh()[1]

    def by_id(self) -> dict[str, Offering]:
        return {o.id: o for o in self.offerings()}
