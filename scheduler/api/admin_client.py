"""The Python admin client: billing ingest, cost models, tenants, tokens, budgets and
quota caps.

>>> with AdminClient("127.0.0.1:50051") as admin:
...     report = admin.ingest_billing(Path("focus-2026-11.csv"))
...     model = admin.cost_model()
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

from scheduler.api import admin_convert, tenant_convert
from scheduler.api.channel import ClientTLS, Plaintext
from scheduler.api.client import SkybatchClient
from scheduler.api.convert import ts
from scheduler.api.gen.skybatch.v1 import admin_pb2 as pb
from scheduler.api.gen.skybatch.v1 import admin_pb2_grpc
from scheduler.api.quota_convert import quota_from_pb
from scheduler.billing import IngestReport
from scheduler.domain import CostModelVersion
from scheduler.quotas import QuotaStatus
from scheduler.tenancy import BudgetStatus, BudgetWindow, Role, Tenant, TokenInfo

CHUNK_BYTES = 1 << 20

#: Called with (phase, done, total): phase "uploading" counts bytes, "storing" rows.
IngestProgress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class ParamDiff:
    key: str
    old: float | None
    new: float | None


class AdminClient(SkybatchClient):
    def __init__(
        self,
        address: str,
        *,
        tenant: str = "",
        timeout_s: float = 600.0,
        token: str | None = None,
        tls: ClientTLS | Plaintext | None = None,
    ) -> None:
        super().__init__(address, tenant=tenant, timeout_s=timeout_s, token=token, tls=tls)
        self.admin = admin_pb2_grpc.AdminServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def ingest_billing(
        self, path: Path, *, source: str = "cli", progress: IngestProgress | None = None
    ) -> IngestReport:
        """Upload and ingest one billing file; the server validates it as a whole first."""
        size = path.stat().st_size

        def chunks() -> Iterator[pb.IngestBillingChunk]:
            yield pb.IngestBillingChunk(
                header=pb.BillingFileHeader(name=path.name, size_bytes=size, source=source)
            )
            sent = 0
            with path.open("rb") as f:
                while block := f.read(CHUNK_BYTES):
                    sent += len(block)
                    if progress is not None:
                        progress("uploading", sent, size)
                    yield pb.IngestBillingChunk(data=block)

        for update in self.admin.IngestBilling(
            chunks(), metadata=self.metadata, timeout=self.timeout_s
        ):
            if update.HasField("report"):
                return admin_convert.report_from_pb(update.report)
            if progress is not None:
                p = update.progress
                progress(p.phase, p.rows_done, p.rows_total)
        raise RuntimeError("the server ended IngestBilling without a report")

    def cost_model(self, version: int = 0) -> CostModelVersion:
        """A cost-model version; 0 is the newest."""
        m = self.admin.GetCostModel(
            pb.GetCostModelRequest(version=version), metadata=self.metadata, timeout=self.timeout_s
        )
        return admin_convert.model_from_pb(m)

    def cost_models(self, limit: int = 0) -> list[CostModelVersion]:
        r = self.admin.ListCostModels(
            pb.ListCostModelsRequest(limit=limit), metadata=self.metadata, timeout=self.timeout_s
        )
        return [admin_convert.model_from_pb(m) for m in r.models]

    def refit(self) -> CostModelVersion:
        m = self.admin.RefitCostModel(
            pb.RefitCostModelRequest(), metadata=self.metadata, timeout=self.timeout_s
        )
        return admin_convert.model_from_pb(m)

    def diff(self, from_version: int, to_version: int = 0) -> tuple[int, int, list[ParamDiff]]:
        r = self.admin.DiffCostModels(
            pb.DiffCostModelsRequest(from_version=from_version, to_version=to_version),
            metadata=self.metadata,
            timeout=self.timeout_s,
        )
        changes = [
            ParamDiff(c.key, None if c.added else c.old_value, None if c.removed else c.new_value)
            for c in r.changes
        ]
        return r.from_version, r.to_version, changes

    # -- tenants, tokens, budgets (an admin token's calls) ----------------------------

    def create_tenant(self, name: str, *, role: Role = Role.USER) -> Tenant:
        m = self.admin.CreateTenant(
            pb.CreateTenantRequest(name=name, role=role.value),
            metadata=self.metadata,
            timeout=self.timeout_s,
        )
        return tenant_convert.tenant_from_pb(m)

    def tenants(self) -> list[Tenant]:
        r = self.admin.ListTenants(
            pb.ListTenantsRequest(), metadata=self.metadata, timeout=self.timeout_s
        )
        return [tenant_convert.tenant_from_pb(t) for t in r.tenants]

    def create_token(
        self, tenant: str, *, description: str = "", expires_at: datetime | None = None
    ) -> tuple[TokenInfo, str]:
        """A new token for ``tenant``: its listing and the token itself (shown once)."""
        r = self.admin.CreateToken(
            pb.CreateTokenRequest(
                tenant=tenant, description=description, expires_at=ts(expires_at)
            ),
            metadata=self.metadata,
            timeout=self.timeout_s,
        )
        return tenant_convert.token_from_pb(r.info), r.token

    def tokens(self, tenant: str = "") -> list[TokenInfo]:
        r = self.admin.ListTokens(
            pb.ListTokensRequest(tenant=tenant), metadata=self.metadata, timeout=self.timeout_s
        )
        return [tenant_convert.token_from_pb(t) for t in r.tokens]

    def revoke_token(self, token_id: str) -> TokenInfo:
        m = self.admin.RevokeToken(
            pb.RevokeTokenRequest(token_id=token_id), metadata=self.metadata, timeout=self.timeout_s
        )
        return tenant_convert.token_from_pb(m)

    def set_budget(
        self,
        tenant: str,
        amount: Decimal,
        window: BudgetWindow = BudgetWindow.MONTH,
        *,
        period: tuple[datetime, datetime] | None = None,
    ) -> BudgetStatus:
        start, end = period or (None, None)
        m = self.admin.SetBudget(
            pb.SetBudgetRequest(
                tenant=tenant,
                amount_usd=str(amount),
                window=window.value,
                period_start=ts(start),
                period_end=ts(end),
            ),
            metadata=self.metadata,
            timeout=self.timeout_s,
        )
        return tenant_convert.budget_from_pb(m)

    def budgets(self, tenant: str = "") -> list[BudgetStatus]:
        r = self.admin.GetBudgets(
            pb.GetBudgetsRequest(tenant=tenant), metadata=self.metadata, timeout=self.timeout_s
        )
        return [tenant_convert.budget_from_pb(b) for b in r.budgets]

    # -- quota caps (an admin token's calls) ------------------------------------------

    def set_quota_cap(self, pool: str, limit: float, *, note: str = "") -> QuotaStatus:
        m = self.admin.SetQuotaCap(
            pb.SetQuotaCapRequest(pool=pool, limit=limit, note=note),
            metadata=self.metadata,
            timeout=self.timeout_s,
        )
        return quota_from_pb(m)

    def clear_quota_cap(self, pool: str) -> QuotaStatus:
        m = self.admin.ClearQuotaCap(
            pb.ClearQuotaCapRequest(pool=pool), metadata=self.metadata, timeout=self.timeout_s
        )
        return quota_from_pb(m)

    def quotas(self) -> list[QuotaStatus]:
        r = self.admin.ListQuotas(
            pb.ListQuotasRequest(), metadata=self.metadata, timeout=self.timeout_s
        )
        return [quota_from_pb(q) for q in r.quotas]
