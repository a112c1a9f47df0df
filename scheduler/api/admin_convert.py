"""Admin API messages <-> domain values (billing reports, cost-model versions)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

from scheduler.api.convert import from_ts, ts
from scheduler.api.gen.skybatch.v1 import admin_pb2 as pb
from scheduler.billing import IngestReport
from scheduler.domain import CostModelVersion


def report_to_pb(r: IngestReport) -> pb.IngestBillingResponse:
    return pb.IngestBillingResponse(
        name=r.name,
        sha256=r.sha256,
        format=r.format,
        rows=r.rows,
        added=r.added,
        matched=r.matched,
        billed_cost_usd=str(r.billed_cost),
        matched_cost_usd=str(r.matched_cost),
        period_start=ts(r.period_start),
        period_end=ts(r.period_end),
        already_ingested=r.already_ingested,
        unmatched=[
            pb.UnmatchedGroup(name=name, lines=n, billed_cost_usd=str(cost))
            for name, n, cost in r.unmatched
        ],
    )


def report_from_pb(m: pb.IngestBillingResponse) -> IngestReport:
    return IngestReport(
        name=m.name,
        sha256=m.sha256,
        format=m.format,
        rows=m.rows,
        added=m.added,
        matched=m.matched,
        billed_cost=Decimal(m.billed_cost_usd or "0"),
        matched_cost=Decimal(m.matched_cost_usd or "0"),
        period_start=from_ts(m.period_start, m.HasField("period_start")),
        period_end=from_ts(m.period_end, m.HasField("period_end")),
        already_ingested=m.already_ingested,
        unmatched=tuple((g.name, g.lines, Decimal(g.billed_cost_usd)) for g in m.unmatched),
    )


def model_to_pb(v: CostModelVersion) -> pb.CostModel:
    return pb.CostModel(
        version=v.version,
        created_at=ts(v.created_at),
        trigger=v.trigger,
        params_json=json.dumps(v.params, sort_keys=True),
        accuracy_json=json.dumps(v.accuracy, sort_keys=True),
        inputs_json=json.dumps(v.inputs, sort_keys=True),
    )


def model_from_pb(m: pb.CostModel) -> CostModelVersion:
    created = from_ts(m.created_at, m.HasField("created_at"))
    return CostModelVersion(
        version=m.version,
        created_at=created or datetime.fromtimestamp(0, UTC),
        trigger=m.trigger,
        params=json.loads(m.params_json or "{}"),
        accuracy=json.loads(m.accuracy_json or "{}"),
        inputs=json.loads(m.inputs_json or "{}"),
    )
