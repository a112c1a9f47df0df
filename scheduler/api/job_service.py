"""``skybatch.v1.JobService``: submit, inspect, cancel, watch and explain jobs."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import datetime

import grpc

from scheduler.api import convert
from scheduler.api.explain import DEFAULT_ALTERNATIVES, MAX_ALTERNATIVES, PlanSnapshot, explain_job
from scheduler.api.gen.skybatch.v1 import jobs_pb2 as pb
from scheduler.api.gen.skybatch.v1 import jobs_pb2_grpc
from scheduler.api.status import streaming, tenant_of, unary
from scheduler.domain import JobSpec
from scheduler.errors import InvalidArgument, InvalidJobSpec
from scheduler.jobspec import validate
from scheduler.offerings import OfferingCatalog
from scheduler.store import JobStore

MAX_BATCH = 10_000


class JobService(jobs_pb2_grpc.JobServiceServicer):
    def __init__(
        self,
        jobs: JobStore,
        catalog: OfferingCatalog,
        clock: Callable[[], datetime],
        stopping: threading.Event,
        *,
        last_plan: Callable[[], PlanSnapshot] = lambda: (None, None),
    ) -> None:
        self.jobs = jobs
        self.catalog = catalog
        self.clock = clock
        self.stopping = stopping
        #: The control loop's latest problem and plan, for ``ExplainJob``.
        self.last_plan = last_plan

    def _validated(self, m: pb.JobSpec, field: str, now: datetime) -> JobSpec:
        spec = convert.spec_from_pb(m, field)
        try:
            return validate(spec, now=now, offerings=self.catalog.offerings())
        except InvalidJobSpec as exc:
            raise InvalidJobSpec(f"{field}.{exc.field}", exc.problem) from None

    @unary
    def SubmitJob(
        self, request: pb.SubmitJobRequest, context: grpc.ServicerContext
    ) -> pb.SubmitJobResponse:
        tenant = tenant_of(context)
        now = self.clock()
        spec = self._validated(request.spec, "spec", now)
        [(job, created)] = self.jobs.submit(tenant, [spec], now)
        return pb.SubmitJobResponse(job=convert.job_to_pb(job), created=created)

    @unary
    def SubmitJobs(
        self, request: pb.SubmitJobsRequest, context: grpc.ServicerContext
    ) -> pb.SubmitJobsResponse:
        tenant = tenant_of(context)
        if not request.specs:
            raise InvalidArgument("specs", "at least one job is required")
        if len(request.specs) > MAX_BATCH:
            raise InvalidArgument("specs", f"at most {MAX_BATCH} jobs per call")
        now = self.clock()
        specs = [self._validated(m, f"specs[{i}]", now) for i, m in enumerate(request.specs)]
        results = self.jobs.submit(tenant, specs, now)
        return pb.SubmitJobsResponse(
            results=[pb.SubmitJobResponse(job=convert.job_to_pb(j), created=c) for j, c in results]
        )

    @unary
    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.Job:
        if not request.job_id:
            raise InvalidArgument("job_id", "required")
        return convert.job_to_pb(self.jobs.get(tenant_of(context), request.job_id))

    @unary
    def ListJobs(
        self, request: pb.ListJobsRequest, context: grpc.ServicerContext
    ) -> pb.ListJobsResponse:
        states = [convert.state_from_pb(s) for s in request.states]
        jobs, token = self.jobs.list_page(
            tenant_of(context),
            states=states,
            labels=dict(request.labels),
            page_size=request.page_size,
            page_token=request.page_token,
        )
        return pb.ListJobsResponse(jobs=[convert.job_to_pb(j) for j in jobs], next_page_token=token)

    @unary
    def CancelJob(
        self, request: pb.CancelJobRequest, context: grpc.ServicerContext
    ) -> pb.CancelJobResponse:
        if not request.job_id:
            raise InvalidArgument("job_id", "required")
        job = self.jobs.cancel(tenant_of(context), request.job_id, request.reason, self.clock())
        return pb.CancelJobResponse(job=convert.job_to_pb(job))

    @unary
    def ExplainJob(
        self, request: pb.ExplainJobRequest, context: grpc.ServicerContext
    ) -> pb.ExplainJobResponse:
        if not request.job_id:
            raise InvalidArgument("job_id", "required")
        n = request.alternatives if request.HasField("alternatives") else DEFAULT_ALTERNATIVES
        if not 0 <= n <= MAX_ALTERNATIVES:
            raise InvalidArgument("alternatives", f"must be 0 to {MAX_ALTERNATIVES}")
        job = self.jobs.get(tenant_of(context), request.job_id)
        return convert.explanation_to_pb(explain_job(job, self.last_plan, n))

    @streaming
    def WatchJobs(
        self, request: pb.WatchJobsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.JobEvent]:
        tenant = tenant_of(context)
        cursor = request.cursor.strip()
        if cursor and not cursor.isdigit():
            raise InvalidArgument("cursor", "not a cursor this server returned")
        after = int(cursor or 0)
        job_ids = list(request.job_ids)
        bus = self.jobs.db.bus
        while context.is_active() and not self.stopping.is_set():
            seen = bus.generation()
            events = self.jobs.events_after(tenant, after, job_ids)
            for e in events:
                yield convert.event_to_pb(e)
                after = e.seq
            if not events:
                # Woken by commits in this process; the timeout also catches other
                # replicas' writes.
                bus.wait(seen, timeout=0.5)
