"""The quota half of ``skybatch.v1.AdminService``: admin caps on quota pools.

A mixin of :class:`scheduler.api.admin_service.AdminService`, like
``scheduler.api.admin_tenants``; the admin role is checked before any of these run
(``scheduler.api.auth``). Caps are stored here and applied by the catalog
(``OfferingCatalog.quotas``) at the planner's next tick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import grpc

from scheduler.api.gen.skybatch.v1 import admin_pb2 as pb
from scheduler.api.quota_convert import quota_to_pb
from scheduler.api.status import tenant_of, unary
from scheduler.errors import Conflict
from scheduler.offerings import OfferingCatalog
from scheduler.quotas import (
    PoolLimits,
    QuotaStatus,
    check_limit,
    check_note,
    check_pool_id,
    pools_in_use,
    unknown_pool,
)
from scheduler.store import AttemptStore, QuotaStore


@dataclass(frozen=True)
class QuotaSources:
    """What quota admin reads: the caps, the catalog the planner uses (whose caps
    callable reads ``caps``), and the live attempts holding quota."""

    caps: QuotaStore
    catalog: OfferingCatalog
    attempts: AttemptStore

    def statuses(self) -> list[QuotaStatus]:
        caps = {c.pool: c for c in self.caps.caps()}
        limits = self.catalog.pool_limits()
        live = [la.attempt.placement.offering_id for la in self.attempts.live_attempts()]
        used = pools_in_use(live, self.catalog.by_id()) if live else {}
        return [QuotaStatus(p, caps.get(p.pool), used.get(p.pool, 0.0)) for p in limits]

    def status(self, pool: str) -> QuotaStatus | None:
        return next((s for s in self.statuses() if s.limits.pool == pool), None)

    def reported(self) -> list[PoolLimits]:
        return [p for p in self.catalog.pool_limits() if p.reported]


class QuotaAdmin:
    quotas: QuotaSources | None
    clock: Callable[[], datetime]

    def _quotas(self) -> QuotaSources:
        if self.quotas is None:
            raise Conflict("this server keeps no quota caps")
        return self.quotas

    @unary
    def SetQuotaCap(
        self, request: pb.SetQuotaCapRequest, context: grpc.ServicerContext
    ) -> pb.Quota:
        pool = check_pool_id(request.pool)
        limit = check_limit(request.limit)
        note = check_note(request.note)
        q = self._quotas()
        known = {p.pool for p in q.reported()}
        if pool not in known:
            raise unknown_pool(pool, known)
        q.caps.set_cap(pool, limit, self.clock(), set_by=tenant_of(context), note=note)
        return self._status_pb(q, pool)

    @unary
    def ClearQuotaCap(
        self, request: pb.ClearQuotaCapRequest, context: grpc.ServicerContext
    ) -> pb.Quota:
        pool = check_pool_id(request.pool)
        q = self._quotas()
        # A cap left on a pool the clouds no longer report can still be cleared.
        if q.caps.clear_cap(pool) is None:
            known = {p.pool for p in q.reported()}
            if pool not in known:
                raise unknown_pool(pool, known)
        return self._status_pb(q, pool)

    @unary
    def ListQuotas(
        self, request: pb.ListQuotasRequest, context: grpc.ServicerContext
    ) -> pb.ListQuotasResponse:
        return pb.ListQuotasResponse(quotas=[quota_to_pb(s) for s in self._quotas().statuses()])

    @staticmethod
    def _status_pb(q: QuotaSources, pool: str) -> pb.Quota:
        status = q.status(pool)
        if status is None:  # a cap just cleared from a pool no cloud reports any more
            return pb.Quota(pool=pool)
        return quota_to_pb(status)
