"""``skybatch.v1.WorkerService``: what worker agents call, with attempt-scoped tokens."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import grpc

from scheduler.api.convert import dur
from scheduler.api.gen.skybatch.v1 import worker_pb2 as wpb
from scheduler.api.gen.skybatch.v1 import worker_pb2_grpc
from scheduler.api.status import metadata, unary
from scheduler.domain import AttemptView, JobView
from scheduler.errors import InvalidArgument, Unauthenticated
from scheduler.logging_setup import log_fields
from scheduler.store import AttemptStore
from scheduler.tokens import TOKEN_METADATA_KEY, token_valid

log = logging.getLogger(__name__)


def _fraction(x: float) -> float:
    """Clamp a reported progress to 0..1; NaN counts as 0."""
    return 0.0 if x != x else min(1.0, max(0.0, x))


class WorkerService(worker_pb2_grpc.WorkerServiceServicer):
    def __init__(
        self,
        attempts: AttemptStore,
        *,
        secret: str,
        checkpoint_uri: str,
        heartbeat_interval: timedelta,
        clock: Callable[[], datetime],
    ) -> None:
        self.attempts = attempts
        self.secret = secret
        self.checkpoint_uri = checkpoint_uri
        self.heartbeat_interval = heartbeat_interval
        self.clock = clock

    def _auth(self, attempt_id: str, context: grpc.ServicerContext) -> tuple[AttemptView, JobView]:
        if not attempt_id:
            raise InvalidArgument("attempt_id", "required")
        token = metadata(context, TOKEN_METADATA_KEY)
        found = self.attempts.attempt(attempt_id)
        # The same answer for a bad token and an unknown attempt: nothing to probe.
        if found is None or not token or not token_valid(self.secret, attempt_id, token):
            raise Unauthenticated("bad or missing attempt token")
        return found

    @unary
    def GetAssignment(
        self, request: wpb.GetAssignmentRequest, context: grpc.ServicerContext
    ) -> wpb.Assignment:
        attempt, job = self._auth(request.attempt_id, context)
        log.info(
            "worker of job %s attempt %d asked for its assignment",
            job.id,
            attempt.number,
            extra=_fields(attempt, job),
        )
        return wpb.Assignment(
            job_id=job.id,
            attempt_id=attempt.id,
            attempt_number=attempt.number,
            command=list(job.spec.command),
            env=dict(job.spec.env),
            checkpoint_interval=dur(job.spec.checkpoint_interval),
            heartbeat_interval=dur(self.heartbeat_interval),
            checkpoint_uri=self.checkpoint_uri,
        )

    @unary
    def Heartbeat(
        self, request: wpb.HeartbeatRequest, context: grpc.ServicerContext
    ) -> wpb.HeartbeatResponse:
        self._auth(request.attempt_id, context)
        go_on = self.attempts.heartbeat(
            request.attempt_id, _fraction(request.progress), self.clock()
        )
        action = wpb.WORKER_ACTION_CONTINUE if go_on else wpb.WORKER_ACTION_STOP
        return wpb.HeartbeatResponse(action=action)

    @unary
    def ReportCheckpoint(
        self, request: wpb.ReportCheckpointRequest, context: grpc.ServicerContext
    ) -> wpb.ReportCheckpointResponse:
        self._auth(request.attempt_id, context)
        if request.seq <= 0:
            raise InvalidArgument("seq", "must be positive")
        self.attempts.report_checkpoint(
            request.attempt_id, request.seq, _fraction(request.progress), self.clock()
        )
        return wpb.ReportCheckpointResponse()

    @unary
    def Finish(
        self, request: wpb.FinishRequest, context: grpc.ServicerContext
    ) -> wpb.FinishResponse:
        attempt, job = self._auth(request.attempt_id, context)
        log.info(
            "worker of job %s attempt %d finished: exit %d%s",
            job.id,
            attempt.number,
            request.exit_code,
            " (interrupted)" if request.interrupted else "",
            extra=_fields(attempt, job),
        )
        self.attempts.finish(
            request.attempt_id,
            request.exit_code,
            request.interrupted,
            request.message[:1000],
            self.clock(),
        )
        return wpb.FinishResponse()


def _fields(attempt: AttemptView, job: JobView) -> dict[str, object]:
    return log_fields(
        job_id=job.id,
        attempt_id=attempt.id,
        tenant=job.tenant,
        cloud=attempt.placement.cloud,
        region=attempt.placement.region,
    )
