"""``skybatch.v1.ReportService``: the SLA report of the server's own store.

The report is computed on the handler's thread from a fresh read of the store (it
reads every job and attempt: seconds for a large store, nothing the control loop
waits on). Spot attempts are priced on demand from the store's own on-demand
attempts, else from the server's current offerings.
"""

from __future__ import annotations

from collections.abc import Callable

import grpc
import pandas as pd

from scheduler.api.convert import from_ts
from scheduler.api.gen.skybatch.v1 import reports_pb2 as pb
from scheduler.api.gen.skybatch.v1 import reports_pb2_grpc
from scheduler.api.principal import current_principal
from scheduler.api.status import unary
from scheduler.errors import InvalidArgument, PermissionDenied
from scheduler.reports import check_range, sla_report
from scheduler.reports.html import render
from scheduler.reports.load import load_inputs
from scheduler.reports.sla import DEFAULT_WORST, MAX_WORST
from scheduler.store import Database

SERVER_CATALOG = "the server's offerings"


class ReportService(reports_pb2_grpc.ReportServiceServicer):
    def __init__(self, db: Database, prices: Callable[[], pd.DataFrame | None]) -> None:
        """``prices``: a price table (``scheduler.analysis.offering_price_table``) of
        what the server can buy now, read once per report."""
        self.db = db
        self.prices = prices

    @unary
    def SlaReport(
        self, request: pb.SlaReportRequest, context: grpc.ServicerContext
    ) -> pb.SlaReportResponse:
        start = from_ts(request.from_time, request.HasField("from_time"), "from_time")
        end = from_ts(request.to_time, request.HasField("to_time"), "to_time")
        check_range(start, end, "from_time", "to_time")
        if not 0 <= request.worst <= MAX_WORST:
            raise InvalidArgument("worst", f"must be 0..{MAX_WORST}, got {request.worst}")
        tenant = request.tenant or None
        caller = current_principal()
        if caller is not None and not caller.is_admin:
            # A user reports on its own tenant only ("" = every tenant, for admins).
            if tenant is not None and tenant != caller.tenant:
                raise PermissionDenied("tenant: a user token reports on its own")
            tenant = caller.tenant
        inputs = load_inputs(
            self.db,
            prices=self.prices(),
            price_catalog=SERVER_CATALOG,
            start=start,
            end=end,
            tenant=tenant,
        )
        report = sla_report(
            inputs,
            start=start,
            end=end,
            tenant=tenant,
            label_key=request.label_key or None,
            worst=request.worst or DEFAULT_WORST,
        )
        return pb.SlaReportResponse(
            report_json=report.to_json(),
            html=render(report) if request.include_html else "",
        )
