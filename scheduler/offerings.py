"""What can be bought right now, across every configured cloud.

Each cloud port caches its own catalog (``LibcloudCloud`` keeps it for minutes), so
this only gathers; a cloud that fails to answer is left out until it answers again.
Quotas are the clouds', lowered by what quota errors taught us and by admin caps
(``scheduler.quotas``), which are read afresh at every call.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence

from adapters.base import CloudError, CloudPort, Offering, QuotaLimit
from scheduler.quotas import PoolLimits

log = logging.getLogger(__name__)


class OfferingCatalog:
    def __init__(
        self,
        clouds: Sequence[CloudPort],
        *,
        caps: Callable[[], Mapping[str, float]] | None = None,
    ) -> None:
        self.clouds = {c.name: c for c in clouds}
        #: pool -> the admin's cap (a store query, cheap), read at every ``quotas()``
        self.caps = caps
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

    def pool_limits(self) -> list[PoolLimits]:
        """Every pool a cloud reports, a quota error named or an admin capped, with what
        each source says about it (the clouds' pools first, in their order)."""
        caps = dict(self.caps()) if self.caps is not None else {}
        reported: dict[str, float] = {}
        for cloud in self.clouds.values():
            for q in cloud.quotas():
                reported[q.pool] = q.capacity
        pools = dict.fromkeys([*reported, *self.learned, *caps])
        return [PoolLimits(p, reported.get(p), self.learned.get(p), caps.get(p)) for p in pools]

    def quotas(self) -> list[QuotaLimit]:
        """Each pool's capacity for the planner: the cloud's quota, lowered where a quota
        error told us the real limit and where an admin capped it (never raised)."""
        return [QuotaLimit(p.pool, p.effective) for p in self.pool_limits()]

    def lower_quota(self, pool: str, limit: float) -> None:
        """A launch was refused for quota and the cloud said the limit: plan with it."""
        current = self.learned.get(pool)
        self.learned[pool] = limit if current is None else min(current, limit)
        log.warning("quota of %s is %g (learned from the cloud)", pool, self.learned[pool])

    def by_id(self) -> dict[str, Offering]:
        return {o.id: o for o in self.offerings()}
