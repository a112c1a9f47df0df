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

    def offerings(self) -> list[Offering]:
        out: list[Offering] = []
        for name, cloud in self.clouds.items():
            try:
                out.extend(cloud.list_offerings())
            except CloudError as exc:
                log.warning("cloud %s did not list its offerings: %s", name, exc)
        return out

    def quotas(self) -> list[QuotaLimit]:
        return [q for cloud in self.clouds.values() for q in cloud.quotas()]

    def by_id(self) -> dict[str, Offering]:
        return {o.id: o for o in self.offerings()}
