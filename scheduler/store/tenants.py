"""Tenants, bearer tokens (hashed) and budgets.

A token's secret is never stored: only its SHA-256, compared with
``hmac.compare_digest``. ``principal`` is what authentication calls (callers cache its
answer for a few seconds; see ``scheduler.api.auth``).
"""

from __future__ import annotations

import hmac
from datetime import datetime

from sqlalchemy import func
from sqlmodel import col, select

from scheduler.errors import Conflict, InvalidArgument, NotFound
from scheduler.store.database import Database
from scheduler.store.tables import AttemptRow, BudgetRow, JobRow, TenantRow, TokenRow
from scheduler.tenancy import (
    BudgetWindow,
    Principal,
    Role,
    Tenant,
    TenantBudget,
    TokenInfo,
    check_tenant_name,
    new_token,
    secret_hash,
    split_token,
)
from solver.money import from_micros


def _tenant(row: TenantRow) -> Tenant:
    return Tenant(row.name, Role(row.role), row.created_at, row.disabled)


def _token(row: TokenRow) -> TokenInfo:
    return TokenInfo(
        id=row.id,
        tenant=row.tenant,
        created_at=row.created_at,
        description=row.description,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
    )


def _budget(row: BudgetRow) -> TenantBudget:
    return TenantBudget(
        tenant=row.tenant,
        amount=from_micros(row.amount_micros),
        window=BudgetWindow(row.window),
        set_at=row.set_at,
        period_start=row.period_start,
        period_end=row.period_end,
    )


class TenantStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- tenants ----------------------------------------------------------------

    def create_tenant(self, name: str, role: Role, now: datetime) -> Tenant:
        check_tenant_name(name, "name")
        with self.db.write() as s:
            if s.get(TenantRow, name) is not None:
                raise Conflict(f"tenant {name!r} exists")
            row = TenantRow(name=name, role=role.value, created_at=now)
            s.add(row)
            return _tenant(row)

    def tenant(self, name: str) -> Tenant | None:
        with self.db.read() as s:
            row = s.get(TenantRow, name)
            return _tenant(row) if row is not None else None

    def tenants(self) -> list[Tenant]:
        with self.db.read() as s:
            return [_tenant(r) for r in s.exec(select(TenantRow).order_by(col(TenantRow.name)))]

    # -- tokens -----------------------------------------------------------------

    def create_token(
        self,
        tenant: str,
        now: datetime,
        *,
        description: str = "",
        expires_at: datetime | None = None,
    ) -> tuple[TokenInfo, str]:
        """A new token for ``tenant``: its listing and the whole token (shown once)."""
        if expires_at is not None and expires_at <= now:
            raise InvalidArgument("expires_at", "must be in the future")
        token_id, token, digest = new_token()
        with self.db.write() as s:
            if s.get(TenantRow, tenant) is None:
                raise NotFound(f"no tenant {tenant!r}")
            row = TokenRow(
                id=token_id,
                tenant=tenant,
                secret_sha256=digest,
                created_at=now,
                expires_at=expires_at,
                description=description,
            )
            s.add(row)
            return _token(row), token

    def tokens(self, tenant: str | None = None) -> list[TokenInfo]:
        with self.db.read() as s:
            q = select(TokenRow).order_by(col(TokenRow.tenant), col(TokenRow.created_at))
            if tenant is not None:
                q = q.where(TokenRow.tenant == tenant)
            return [_token(r) for r in s.exec(q)]

    def revoke_token(self, token_id: str, now: datetime) -> TokenInfo:
        """Revoke (idempotent: a revoked token keeps its first revocation time)."""
        with self.db.write() as s:
            row = s.get(TokenRow, token_id)
            if row is None:
                raise NotFound(f"no token {token_id!r}")
            if row.revoked_at is None:
                row.revoked_at = now
                s.add(row)
            return _token(row)

    def principal(self, token: str, now: datetime) -> tuple[Principal, datetime | None] | None:
        """Who ``token`` proves to be, and until when (its expiry), or None when it is
        malformed, unknown, wrong, revoked, expired or its tenant is disabled."""
        parts = split_token(token)
        if parts is None:
            return None
        token_id, secret = parts
        with self.db.read() as s:
            found = s.exec(
                select(TokenRow, TenantRow)
                .join(TenantRow, col(TenantRow.name) == col(TokenRow.tenant))
                .where(TokenRow.id == token_id)
            ).first()
        if found is None:
            return None
        row, tenant = found
        if not hmac.compare_digest(row.secret_sha256, secret_hash(secret)):
            return None
        if tenant.disabled or not _token(row).usable(now):
            return None
        return Principal(tenant.name, Role(tenant.role), row.id), row.expires_at

    # -- budgets ----------------------------------------------------------------

    def set_budget(
        self,
        tenant: str,
        amount_micros: int,
        window: BudgetWindow,
        now: datetime,
        *,
        period: tuple[datetime, datetime] | None = None,
    ) -> TenantBudget:
        if amount_micros < 0:
            raise InvalidArgument("amount", "must be >= 0")
        if (window is BudgetWindow.PERIOD) != (period is not None):
            raise InvalidArgument("period", "required with window 'period' and only then")
        if period is not None and not period[0] < period[1]:
            raise InvalidArgument("period", "the end must be after the start")
        with self.db.write() as s:
            if s.get(TenantRow, tenant) is None:
                raise NotFound(f"no tenant {tenant!r}")
            row = s.get(BudgetRow, (tenant, window.value)) or BudgetRow(
                tenant=tenant, window=window.value, amount_micros=0, set_at=now
            )
            row.amount_micros = amount_micros
            row.period_start, row.period_end = period or (None, None)
            row.set_at = now
            s.add(row)
            return _budget(row)

    def budgets(self, tenant: str | None = None) -> list[TenantBudget]:
        with self.db.read() as s:
            q = select(BudgetRow).order_by(col(BudgetRow.tenant), col(BudgetRow.window))
            if tenant is not None:
                q = q.where(BudgetRow.tenant == tenant)
            return [_budget(r) for r in s.exec(q)]

    def ended_spend_micros(self, tenant: str, start: datetime, end: datetime) -> int:
        """What the tenant's ended attempts that started in ``[start, end)`` cost."""
        with self.db.read() as s:
            total = s.exec(
                select(func.coalesce(func.sum(AttemptRow.cost_micros), 0))
                .select_from(AttemptRow)
                .join(JobRow, col(JobRow.id) == col(AttemptRow.job_id))
                .where(
                    JobRow.tenant == tenant,
                    col(AttemptRow.ended_at).is_not(None),
                    col(AttemptRow.created_at) >= start,
                    col(AttemptRow.created_at) < end,
                )
            ).one()
            return int(total)
