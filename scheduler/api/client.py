"""The Python client: domain objects in and out, gRPC underneath.

>>> with SkybatchClient("127.0.0.1:50051") as c:
...     [(job, created)] = c.submit([spec])

Every call is retried with exponential backoff while the server is unavailable
(``retry=``, see :mod:`scheduler.api.retry`); submissions carry a
``client_request_id`` (generated when the spec has none), so a retried submit returns
the job the first attempt created. Failures raise
:class:`scheduler.api.client_errors.RpcFailed` subclasses (``Unavailable``,
``InvalidRequest``, ``NotFoundError``, ``AccessDenied``, ``LimitExceeded``...), which
are ``grpc.RpcError`` too. See docs/python-client.md.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import replace
from types import TracebackType
from typing import Self, TypeVar

import grpc

from scheduler.api import convert, retry
from scheduler.api.channel import PLAINTEXT, ClientTLS, Plaintext, open_channel, token_from_env
from scheduler.api.client_errors import from_rpc_error
from scheduler.api.gen.skybatch.v1 import jobs_pb2 as pb
from scheduler.api.gen.skybatch.v1 import jobs_pb2_grpc
from scheduler.api.retry import DEFAULT_POLICY, RetryPolicy
from scheduler.api.retry import channel_options as retry_channel_options
from scheduler.api.status import TENANT_METADATA_KEY
from scheduler.domain import JobEvent, JobExplanation, JobSpec, JobState, JobView

T = TypeVar("T")


class SkybatchClient:
    """``token`` and ``tls`` default to the environment (``SKYBATCH_TOKEN``,
    ``SKYBATCH_TLS_CA`` / ``_CERT`` / ``_KEY``); pass ``token=""`` and
    ``tls=PLAINTEXT`` to ignore it. A token's tenant wins over ``tenant``.

    ``timeout_s`` bounds each attempt of a call; ``retry`` says how often and how
    patiently a call is repeated while the server is unavailable (``NO_RETRIES`` in
    :mod:`scheduler.api.retry` turns it off)."""

    def __init__(
        self,
        address: str,
        *,
        tenant: str = "",
        timeout_s: float = 30.0,
        token: str | None = None,
        tls: ClientTLS | Plaintext | None = None,
        retry: RetryPolicy = DEFAULT_POLICY,
    ) -> None:
        self.address = address
        self.retry = retry
        self.channel = open_channel(
            address,
            tls=None if tls is PLAINTEXT else tls or ClientTLS.from_env(),
            token=token_from_env() if token is None else token,
            options=retry_channel_options(retry),
        )
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
        """Close the channel; calls in flight fail with CANCELLED."""
        self.channel.close()

    def wait_ready(self, timeout_s: float = 10.0) -> None:
        """Block until the channel is connected; ``grpc.FutureTimeoutError`` otherwise."""
        grpc.channel_ready_future(self.channel).result(timeout=timeout_s)

    def _call(self, method: str, fn: Callable[[], T]) -> T:
        return retry.call(fn, method, self.retry)

    def submit(self, specs: Sequence[JobSpec]) -> list[tuple[JobView, bool]]:
        """Submit jobs, all or nothing: one invalid spec and none is stored.

        Returns ``(job, created)`` per spec, in order; ``created`` is False when the
        spec's ``client_request_id`` matched an earlier job of the tenant (that job is
        returned). A spec without a request id gets a generated one, so retries never
        create a job twice. Raises ``InvalidRequest`` (``field`` names the spec and
        field, e.g. ``specs[2].deadline``), ``LimitExceeded``, ``Unavailable``.
        """
        specs = [
            s if s.client_request_id else replace(s, client_request_id=f"py-{uuid.uuid4().hex}")
            for s in specs
        ]
        if len(specs) == 1:
            one = pb.SubmitJobRequest(spec=convert.spec_to_pb(specs[0]))
            r = self._call(
                "SubmitJob",
                lambda: self.stub.SubmitJob(one, metadata=self.metadata, timeout=self.timeout_s),
            )
            return [(convert.job_from_pb(r.job), r.created)]
        batch = pb.SubmitJobsRequest(specs=[convert.spec_to_pb(s) for s in specs])
        rs = self._call(
            "SubmitJobs",
            lambda: self.stub.SubmitJobs(batch, metadata=self.metadata, timeout=self.timeout_s),
        )
        return [(convert.job_from_pb(r.job), r.created) for r in rs.results]

    def get(self, job_id: str) -> JobView:
        """The job with its attempts. Raises ``NotFoundError`` for an unknown job or
        another tenant's, ``InvalidRequest`` for a malformed id."""
        request = pb.GetJobRequest(job_id=job_id)
        r = self._call(
            "GetJob",
            lambda: self.stub.GetJob(request, metadata=self.metadata, timeout=self.timeout_s),
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
        """One page of the tenant's jobs, oldest first, filtered by state and labels
        (all must match); returns the jobs and the token of the next page ("" at the
        end). ``page_size`` 0 is the server's default (100), at most 1000. Raises
        ``InvalidRequest`` for a bad page size or token."""
        request = pb.ListJobsRequest(
            states=[convert.state_to_pb(s) for s in states],  # type: ignore[misc]
            labels=dict(labels or {}),
            page_size=page_size,
            page_token=page_token,
        )
        r = self._call(
            "ListJobs",
            lambda: self.stub.ListJobs(request, metadata=self.metadata, timeout=self.timeout_s),
        )
        return [convert.job_from_pb(j) for j in r.jobs], r.next_page_token

    def list_all(self, **kwargs: object) -> list[JobView]:
        """Every page of :meth:`list_page` (same filters), as one list."""
        out: list[JobView] = []
        token = ""
        while True:
            jobs, token = self.list_page(page_token=token, **kwargs)  # type: ignore[arg-type]
            out.extend(jobs)
            if not token:
                return out

    def cancel(self, job_id: str, reason: str = "") -> JobView:
        """Cancel a job (idempotent: a finished job is returned as it is); returns the
        job as it is now. Raises ``NotFoundError``."""
        request = pb.CancelJobRequest(job_id=job_id, reason=reason)
        r = self._call(
            "CancelJob",
            lambda: self.stub.CancelJob(request, metadata=self.metadata, timeout=self.timeout_s),
        )
        return convert.job_from_pb(r.job)

    def explain_job(self, job_id: str, *, alternatives: int | None = None) -> JobExplanation:
        """Why the job got its placement and what the next-best options lost on;
        ``alternatives`` defaults to the server's (3). Raises ``NotFoundError``,
        ``InvalidRequest`` (``alternatives`` out of range)."""
        request = pb.ExplainJobRequest(job_id=job_id, alternatives=alternatives)
        r = self._call(
            "ExplainJob",
            lambda: self.stub.ExplainJob(request, metadata=self.metadata, timeout=self.timeout_s),
        )
        return convert.explanation_from_pb(r)

    def watch(self, *, cursor: str = "", job_ids: Sequence[str] = ()) -> Iterator[JobEvent]:
        """Events after ``cursor`` ("" = from the start), forever (stop by breaking out or
        closing the client). A stream the server drops is resumed after the last event
        seen, with the client's backoff; ``Unavailable`` once ``retry.attempts``
        reconnections in a row failed, ``InvalidRequest`` for a bad cursor."""
        failures = 0
        while True:
            stream = self.stub.WatchJobs(
                pb.WatchJobsRequest(cursor=cursor, job_ids=list(job_ids)), metadata=self.metadata
            )
            try:
                for e in stream:
                    failures = 0
                    cursor = e.cursor
                    yield convert.event_from_pb(e)
                return
            except grpc.RpcError as exc:
                failures += 1
                if not retry.retryable(exc) or failures >= self.retry.attempts:
                    raise from_rpc_error("WatchJobs", exc, failures) from exc
                time.sleep(self.retry.backoff_s(failures))
            finally:
                stream.cancel()
