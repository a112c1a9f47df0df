"""What can be bought right now, across every configured cloud.

Each cloud port caches its own catalog (``LibcloudCloud`` keeps it for minutes), so
this only gathers; a cloud that fails to answer is left out until it answers again.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from adapters.base import CloudError, CloudPort, Offering, QuotaLimit

log = logging.getLogger(__name__)


class OfferingCatalog:
    def __init__(self, clouds: Sequence[CloudPort]) -> None:
        self.clouds = {c.name: c for c in clouds}
        #: pool -> the limit a cloud's quota error reported (lower than configured)
        self.learned: dict[str, float] = {}
        self.last_listed: dict[str, list[Offering]] = {}

    def offerings(self) -> list[Offering]:
        """Every cloud's offerings; a cloud that fails to answer (throttled, down) counts
        with what it listed last, so one bad answer neither hides its regions from job
        validation nor empties the plan."""
        out: list[Offering] = []
        for name, cloud in self.clouds.items():
            try:
                listed = list(cloud.list_offerings())
            except CloudError as exc:
                listed = self.last_listed.get(name, [])
                log.warning(
                    "cloud %s did not list its offerings (%s); using the %d it listed last",
                    name,
                    exc,
                    len(listed),
                )
            else:
                self.last_listed[name] = listed
            out.extend(listed)
        return out

    def quotas(self) -> list[QuotaLimit]:
        """Each cloud's quotas, lowered where a quota error told us the real limit."""
        out = []
        for cloud in self.clouds.values():
            for q in cloud.quotas():
                learned = self.learned.get(q.pool)
                out.append(q if learned is None else QuotaLimit(q.pool, min(q.capacity, learned)))
        listed = {q.pool for q in out}
        out.extend(
            QuotaLimit(pool, limit) for pool, limit in self.learned.items() if pool not in listed
        )
        return out

    def lower_quota(self, pool: str, limit: float) -> None:
        """A launch was refused for quota and the cloud said the limit: plan with it."""
        current = self.learned.get(pool)
        self.learned[pool] = limit if current is None else min(current, limit)
        log.warning("quota of %s is %g (learned from the cloud)", pool, self.learned[pool])

    def by_id(self) -> dict[str, Offering]:
        return {o.id: o for o in self.offerings()}
