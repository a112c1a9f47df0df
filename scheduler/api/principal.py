"""The caller of the RPC being handled, as authentication proved it (or None).

Set by ``scheduler.api.auth`` around each handler of the tenant-facing services (and
around each step of a streaming handler), read by ``status.tenant_of``.
"""

from __future__ import annotations

from contextvars import ContextVar

from scheduler.tenancy import Principal

PRINCIPAL: ContextVar[Principal | None] = ContextVar("skybatch_principal", default=None)


def current_principal() -> Principal | None:
    return PRINCIPAL.get()
