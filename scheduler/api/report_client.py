"""The Python client of the report service.

>>> with ReportClient("127.0.0.1:50051") as reports:
...     report, html = reports.sla(label_key="team", html=True)
"""

from __future__ import annotations

from datetime import datetime

from scheduler.api.channel import ClientTLS, Plaintext
from scheduler.api.client import SkybatchClient
from scheduler.api.convert import ts
from scheduler.api.gen.skybatch.v1 import reports_pb2 as pb
from scheduler.api.gen.skybatch.v1 import reports_pb2_grpc
from scheduler.reports import SlaReport


class ReportClient(SkybatchClient):
    def __init__(
        self,
        address: str,
        *,
        tenant: str = "",
        timeout_s: float = 300.0,
        token: str | None = None,
        tls: ClientTLS | Plaintext | None = None,
    ) -> None:
        super().__init__(address, tenant=tenant, timeout_s=timeout_s, token=token, tls=tls)
        self.reports = reports_pb2_grpc.ReportServiceStub(self.channel)  # type: ignore[no-untyped-call]

    def sla(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        tenant: str = "",
        label_key: str = "",
        worst: int = 0,
        html: bool = False,
    ) -> tuple[SlaReport, str]:
        """The server's SLA report, and its HTML page (empty unless ``html``)."""
        r = self.reports.SlaReport(
            pb.SlaReportRequest(
                from_time=ts(start),
                to_time=ts(end),
                tenant=tenant,
                label_key=label_key,
                worst=worst,
                include_html=html,
            ),
            metadata=self.metadata,
            timeout=self.timeout_s,
        )
        return SlaReport.from_json(r.report_json), r.html
