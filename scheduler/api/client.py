"""The Python client: domain objects in and out, gRPC underneath.

>>> with SkybatchClient("127.0.0.1:50051") as c:
...     [(job, created)] = c.submit([spec])
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from types import TracebackType
from typing import Self

import grpc

from scheduler.api import convert
from scheduler.api.gen.skybatch.v1 import jobs_pb2 as pb
from scheduler.api.gen.skybatch.v1 import jobs_pb2_grpc
from scheduler.api.status import TENANT_METADATA_KEY
from scheduler.domain import JobEvent, JobExplanation, JobSpec, JobState, JobView


class SkybatchClient:
    def __init__(self, address: str, *, tenant: str = "", timeout_s: float = 30.0) -> None:
        self.address = address
        self.channel = grpc.insecure_channel(address)
        self.stub = jobs_pb2_grpc.JobServiceStub(self.channel)  # type: ignore[no-untyped-call]
        self.metadata = ((TENANT_METADATA_KEY, tenant),) if tenant else ()
        self.timeout_s = timeout_s

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self.channel.close()

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        grpc.channel_ready_future(self.channel).result(timeout=timeout_s)

    def submit(self, specs: Sequence[JobSpec]) -> list[tuple[JobView, bool]]:
        """All or nothing: one invalid spec and none is stored."""
        if len(specs) == 1:
            r = self.stub.SubmitJob(
                pb.SubmitJobRequest(spec=convert.spec_to_pb(specs[0])),
                metadata=self.metadata,
                timeout=self.timeout_s,
            )
            return [(convert.job_from_pb(r.job), r.created)]
        rs = self.stub.SubmitJobs(
            pb.SubmitJobsRequest(specs=[convert.spec_to_pb(s) for s in specs]),
            metadata=self.metadata,
            timeout=self.timeout_s,
        )
        return [(convert.job_from_pb(r.job), r.created) for r in rs.results]

    def get(self, job_id: str) -> JobView:
        r = self.stub.GetJob(
            pb.GetJobRequest(job_id=job_id), metadata=self.metadata, timeout=self.timeout_s
        )
        return convert.job_from_pb(r)

    def list_page(
        self,
        *,
        states: Sequence[JobState] = (),
        labels: Mapping[str, str] | None = None,
        page_size: int = 0,
        page_token: str = "",
    ) -> tuple[list[JobView], str]:
        r = self.stub.ListJobs(
            pb.ListJobsRequest(
                states=[convert.state_to_pb(s) for s in states],  # type: ignore[misc]
                labels=dict(labels or {}),
                page_size=page_size,
                page_token=page_token,
            ),
            metadata=self.metadata,
            timeout=self.timeout_s,
        )
        return [convert.job_from_pb(j) for j in r.jobs], r.next_page_token

    def list_all(self, **kwargs: object) -> list[JobView]:
        out: list[JobView] = []
        token = ""
        while True:
            jobs, token = self.list_page(page_token=token, **kwargs)  # type: ignore[arg-type]
            out.extend(jobs)
            if not token:
                return out

    def cancel(self, job_id: str, reason: str = "") -> JobView:
        r = self.stub.CancelJob(
            pb.CancelJobRequest(job_id=job_id, reason=reason),
            metadata=self.metadata,
            timeout=self.timeout_s,
        )
        return convert.job_from_pb(r.job)

    def explain_job(self, job_id: str, *, alternatives: int | None = None) -> JobExplanation:
        """Why the job got its placement and what the next-best options lost on;
        ``alternatives`` defaults to the server's (3)."""
        r = self.stub.ExplainJob(
            pb.ExplainJobRequest(job_id=job_id, alternatives=alternatives),
            metadata=self.metadata,
            timeout=self.timeout_s,
        )
        return convert.explanation_from_pb(r)

    def watch(self, *, cursor: str = "", job_ids: Sequence[str] = ()) -> Iterator[JobEvent]:
        """Events after ``cursor``, forever (cancel by closing the client or breaking)."""
        stream = self.stub.WatchJobs(
            pb.WatchJobsRequest(cursor=cursor, job_ids=list(job_ids)), metadata=self.metadata
        )
        try:
            for e in stream:
                yield convert.event_from_pb(e)
        finally:
            stream.cancel()
