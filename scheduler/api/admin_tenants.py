"""The tenant half of ``skybatch.v1.AdminService``: tenants, bearer tokens, budgets.

A mixin of :class:`scheduler.api.admin_service.AdminService` (one gRPC service, two
concerns). The admin role is checked before any of these run (``scheduler.api.auth``).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import grpc

from scheduler.api import tenant_convert
from scheduler.api.convert import from_ts
from scheduler.api.gen.skybatch.v1 import admin_pb2 as pb
from scheduler.api.status import unary
from scheduler.errors import Conflict, InvalidArgument
from scheduler.store import TenantStore
from scheduler.tenancy import (
    BudgetStatus,
    BudgetWindow,
    Role,
    check_tenant_name,
    check_token_id,
    parse_amount,
    parse_window,
)
from solver.money import from_micros, to_micros


def _role(text: str) -> Role:
    try:
        return Role(text or Role.USER.value)
    except ValueError:
        raise InvalidArgument("role", f"{text!r} is not 'user' or 'admin'") from None


def budget_status(store: TenantStore, tenant: str | None, now: datetime) -> list[BudgetStatus]:
    out = []
    for b in store.budgets(tenant):
        start, end = b.bounds(now)
        spent = store.ended_spend_micros(b.tenant, start, end)
        out.append(BudgetStatus(b, start, end, from_micros(spent)))
    return out


class TenantAdmin:
    tenants: TenantStore | None
    clock: Callable[[], datetime]

    def _store(self) -> TenantStore:
        if self.tenants is None:
            raise Conflict("this server has no tenant store")
        return self.tenants

    @unary
    def CreateTenant(
        self, request: pb.CreateTenantRequest, context: grpc.ServicerContext
    ) -> pb.Tenant:
        name = check_tenant_name(request.name, "name")
        tenant = self._store().create_tenant(name, _role(request.role), self.clock())
        return tenant_convert.tenant_to_pb(tenant)

    @unary
    def ListTenants(
        self, request: pb.ListTenantsRequest, context: grpc.ServicerContext
    ) -> pb.ListTenantsResponse:
        return pb.ListTenantsResponse(
            tenants=[tenant_convert.tenant_to_pb(t) for t in self._store().tenants()]
        )

    @unary
    def CreateToken(
        self, request: pb.CreateTokenRequest, context: grpc.ServicerContext
    ) -> pb.CreateTokenResponse:
        tenant = check_tenant_name(request.tenant, "tenant")
        if len(request.description) > 200:
            raise InvalidArgument("description", "at most 200 characters")
        info, token = self._store().create_token(
            tenant,
            self.clock(),
            description=request.description,
            expires_at=from_ts(request.expires_at, request.HasField("expires_at")),
        )
        return pb.CreateTokenResponse(info=tenant_convert.token_to_pb(info), token=token)

    @unary
    def ListTokens(
        self, request: pb.ListTokensRequest, context: grpc.ServicerContext
    ) -> pb.ListTokensResponse:
        tenant = check_tenant_name(request.tenant, "tenant") if request.tenant else None
        return pb.ListTokensResponse(
            tokens=[tenant_convert.token_to_pb(t) for t in self._store().tokens(tenant)]
        )

    @unary
    def RevokeToken(
        self, request: pb.RevokeTokenRequest, context: grpc.ServicerContext
    ) -> pb.TokenInfo:
        token_id = check_token_id(request.token_id)
        return tenant_convert.token_to_pb(self._store().revoke_token(token_id, self.clock()))

    @unary
    def SetBudget(self, request: pb.SetBudgetRequest, context: grpc.ServicerContext) -> pb.Budget:
        tenant = check_tenant_name(request.tenant, "tenant")
        amount = parse_amount(request.amount_usd, "amount_usd")
        window = parse_window(request.window or BudgetWindow.MONTH.value)
        start = from_ts(request.period_start, request.HasField("period_start"))
        end = from_ts(request.period_end, request.HasField("period_end"))
        period = (start, end) if start is not None and end is not None else None
        if (start is None) != (end is None):
            raise InvalidArgument("period_end", "a period needs both its start and its end")
        store = self._store()
        now = self.clock()
        store.set_budget(tenant, to_micros(amount), window, now, period=period)
        [status] = [s for s in budget_status(store, tenant, now) if s.budget.window is window]
        return tenant_convert.budget_to_pb(status)

    @unary
    def GetBudgets(
        self, request: pb.GetBudgetsRequest, context: grpc.ServicerContext
    ) -> pb.GetBudgetsResponse:
        tenant = check_tenant_name(request.tenant, "tenant") if request.tenant else None
        statuses = budget_status(self._store(), tenant, self.clock())
        return pb.GetBudgetsResponse(budgets=[tenant_convert.budget_to_pb(s) for s in statuses])
