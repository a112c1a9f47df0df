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
from scheduler.api.submit_queue import SubmitQueue
from scheduler.api.watch_hub import WatchHub
from scheduler.domain import JobSpec
from scheduler.errors import InvalidArgument, InvalidJobSpec
from scheduler.jobspec import Placements, validate
from scheduler.offerings import OfferingCatalog
from scheduler.store import JobStore

MAX_BATCH = 10_000
#: Request limits beyond the job spec's (``scheduler.jobspec``): ids we hand out are
#: short, and so are page tokens and cursors (longer ones would not even bind in SQL).
MAX_JOB_ID_CHARS = 64
MAX_TOKEN_CHARS = 19
MAX_REASON_CHARS = 1000
MAX_FILTER_LABELS = 64
MAX_WATCH_JOBS = 1000


def check_job_id(job_id: str, field: str = "job_id") -> None:
    if not job_id:
        raise InvalidArgument(field, "required")
    if len(job_id) > MAX_JOB_ID_CHARS:
        raise InvalidArgument(field, f"longer than {MAX_JOB_ID_CHARS} characters")


def _check_token(value: str, field: str, *, digits_only: bool = False) -> None:
    if not value:
        return
    ok = value.isascii() and len(value) <= MAX_TOKEN_CHARS
    # A cursor is a bare event number: 18 digits stay within SQL's 64-bit integers.
    if not ok or (digits_only and not (value.isdigit() and len(value) < MAX_TOKEN_CHARS)):
        raise InvalidArgument(field, "not one this server returned")


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
        #: Concurrent submissions share one write transaction.
        self.submissions = SubmitQueue(jobs, stopping)
        #: One reader of new events for every ``WatchJobs`` stream.
        self.hub = WatchHub(jobs, stopping)
        self._placements = Placements(())

    def _current_placements(self) -> Placements:
        """The catalog's offerings, indexed; rebuilt only when the listing changed."""
        self._placements = self._placements.current(self.catalog.offerings())
        return self._placements

    def _validated(
        self, m: pb.JobSpec, field: str, now: datetime, placements: Placements
    ) -> JobSpec:
        spec = convert.spec_from_pb(m, field)
        try:
            return validate(spec, now=now, offerings=placements)
        except InvalidJobSpec as exc:
            raise InvalidJobSpec(f"{field}.{exc.field}", exc.problem) from None

    @unary
    def SubmitJob(
        self, request: pb.SubmitJobRequest, context: grpc.ServicerContext
    ) -> pb.SubmitJobResponse:
        tenant = tenant_of(context)
        now = self.clock()
        spec = self._validated(request.spec, "spec", now, self._current_placements())
        [(job, created)] = self.submissions.submit(tenant, [spec], now)
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
        placements = self._current_placements()
        specs = [
            self._validated(m, f"specs[{i}]", now, placements) for i, m in enumerate(request.specs)
        ]
        results = self.submissions.submit(tenant, specs, now)
        return pb.SubmitJobsResponse(
            results=[pb.SubmitJobResponse(job=convert.job_to_pb(j), created=c) for j, c in results]
        )

    @unary
    def GetJob(self, request: pb.GetJobRequest, context: grpc.ServicerContext) -> pb.Job:
        check_job_id(request.job_id)
        return convert.job_to_pb(self.jobs.get(tenant_of(context), request.job_id))

    @unary
    def ListJobs(
        self, request: pb.ListJobsRequest, context: grpc.ServicerContext
    ) -> pb.ListJobsResponse:
        states = list(dict.fromkeys(convert.state_from_pb(s) for s in request.states))
        if len(request.labels) > MAX_FILTER_LABELS:
            raise InvalidArgument("labels", f"at most {MAX_FILTER_LABELS} labels to match")
        _check_token(request.page_token, "page_token")
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
        check_job_id(request.job_id)
        if len(request.reason) > MAX_REASON_CHARS:
            raise InvalidArgument("reason", f"longer than {MAX_REASON_CHARS} characters")
        job = self.jobs.cancel(tenant_of(context), request.job_id, request.reason, self.clock())
        return pb.CancelJobResponse(job=convert.job_to_pb(job))

    @unary
    def ExplainJob(
        self, request: pb.ExplainJobRequest, context: grpc.ServicerContext
    ) -> pb.ExplainJobResponse:
        check_job_id(request.job_id)
        n = request.alternatives if request.HasField("alternatives") else DEFAULT_ALTERNATIVES
        if not 0 <= n <= MAX_ALTERNATIVES:
            raise InvalidArgument("alternatives", f"must be 0 to {MAX_ALTERNATIVES}")
        job = self.jobs.get(tenant_of(context), request.job_id)
        return convert.explanation_to_pb(explain_job(job, self.last_plan, n))

    def WatchJobs(
        self, request: pb.WatchJobsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.JobEvent]:
        if self.hub.full:
            context.abort(
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"this server serves at most {self.hub.max_streams} WatchJobs streams",
            )
        return self._watch(request, context)

    @streaming
    def _watch(
        self, request: pb.WatchJobsRequest, context: grpc.ServicerContext
    ) -> Iterator[pb.JobEvent]:
        tenant = tenant_of(context)
        cursor = request.cursor.strip()
        _check_token(cursor, "cursor", digits_only=True)
        after = int(cursor or 0)
        if len(request.job_ids) > MAX_WATCH_JOBS:
            raise InvalidArgument("job_ids", f"at most {MAX_WATCH_JOBS} jobs per stream")
        for i, job_id in enumerate(request.job_ids):
            check_job_id(job_id, f"job_ids[{i}]")
        job_ids = list(request.job_ids)
        with self.hub.subscribe(tenant, job_ids) as sub:
            while context.is_active() and not self.stopping.is_set():
                events, catch_up_to = sub.take(timeout=0.5)
                while catch_up_to is not None and after < catch_up_to:
                    # What the hub read before this stream subscribed (or while it lagged).
                    page = self.jobs.events_after(tenant, after, job_ids)
                    page = [e for e in page if e.seq <= catch_up_to]
                    if not page:
                        after = catch_up_to
                        break
                    for e in page:
                        yield convert.event_to_pb(e)
                        after = e.seq
                for e in events:
                    if e.seq > after:
                        yield convert.event_to_pb(e)
                        after = e.seq
