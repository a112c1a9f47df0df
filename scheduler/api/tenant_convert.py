"""Tenant admin messages <-> domain values (tenants, tokens, budgets)."""

from __future__ import annotations

from decimal import Decimal

from scheduler.api.convert import from_ts, ts
from scheduler.api.gen.skybatch.v1 import admin_pb2 as pb
from scheduler.tenancy import BudgetStatus, BudgetWindow, Role, Tenant, TenantBudget, TokenInfo


def tenant_to_pb(t: Tenant) -> pb.Tenant:
    return pb.Tenant(
        name=t.name, role=t.role.value, created_at=ts(t.created_at), disabled=t.disabled
    )


def tenant_from_pb(m: pb.Tenant) -> Tenant:
    created = from_ts(m.created_at, True)
    assert created is not None
    return Tenant(m.name, Role(m.role), created, m.disabled)


def token_to_pb(t: TokenInfo) -> pb.TokenInfo:
    return pb.TokenInfo(
        id=t.id,
        tenant=t.tenant,
        created_at=ts(t.created_at),
        description=t.description,
        expires_at=ts(t.expires_at),
        revoked_at=ts(t.revoked_at),
    )


def token_from_pb(m: pb.TokenInfo) -> TokenInfo:
    created = from_ts(m.created_at, True)
    assert created is not None
    return TokenInfo(
        id=m.id,
        tenant=m.tenant,
        created_at=created,
        description=m.description,
        expires_at=from_ts(m.expires_at, m.HasField("expires_at")),
        revoked_at=from_ts(m.revoked_at, m.HasField("revoked_at")),
    )


def budget_to_pb(s: BudgetStatus) -> pb.Budget:
    b = s.budget
    return pb.Budget(
        tenant=b.tenant,
        amount_usd=str(b.amount),
        window=b.window.value,
        period_start=ts(b.period_start),
        period_end=ts(b.period_end),
        set_at=ts(b.set_at),
        window_start=ts(s.window_start),
        window_end=ts(s.window_end),
        spent_usd=str(s.spent),
    )


def budget_from_pb(m: pb.Budget) -> BudgetStatus:
    set_at = from_ts(m.set_at, True)
    start = from_ts(m.window_start, True)
    end = from_ts(m.window_end, True)
    assert set_at is not None and start is not None and end is not None
    budget = TenantBudget(
        tenant=m.tenant,
        amount=Decimal(m.amount_usd or 0),
        window=BudgetWindow(m.window),
        set_at=set_at,
        period_start=from_ts(m.period_start, m.HasField("period_start")),
        period_end=from_ts(m.period_end, m.HasField("period_end")),
    )
    return BudgetStatus(budget, start, end, Decimal(m.spent_usd or 0))
