"""Quota messages <-> domain values (``scheduler.quotas``)."""

from __future__ import annotations

from scheduler.api.convert import from_ts
from scheduler.api.gen.skybatch.v1 import admin_pb2 as pb
from scheduler.quotas import PoolLimits, QuotaCap, QuotaStatus


def quota_to_pb(s: QuotaStatus) -> pb.Quota:
    lim = s.limits
    m = pb.Quota(pool=lim.pool, effective_limit=lim.effective, in_use=s.in_use)
    if lim.cloud is not None:
        m.cloud_limit = lim.cloud
    if lim.learned is not None:
        m.learned_limit = lim.learned
    if lim.cap is not None:
        m.cap = lim.cap
    if s.cap is not None:
        m.cap_set_at.FromDatetime(s.cap.set_at)
        m.cap_set_by = s.cap.set_by
        m.cap_note = s.cap.note
    return m


def quota_from_pb(m: pb.Quota) -> QuotaStatus:
    limits = PoolLimits(
        m.pool,
        cloud=m.cloud_limit if m.HasField("cloud_limit") else None,
        learned=m.learned_limit if m.HasField("learned_limit") else None,
        cap=m.cap if m.HasField("cap") else None,
    )
    set_at = from_ts(m.cap_set_at, m.HasField("cap_set_at"), "cap_set_at")
    cap = (
        QuotaCap(m.pool, m.cap, set_at, m.cap_set_by, m.cap_note)
        if m.HasField("cap") and set_at is not None
        else None
    )
    return QuotaStatus(limits, cap, m.in_use)
