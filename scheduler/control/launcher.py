"""Launch step: turn PLANNED jobs into attempts and nodes, idempotently.

The attempt row (its id is the cloud idempotency token) is committed before the
cloud is called, so a crash anywhere leaves either no node or a node the next
``resume`` call finds again through the same token.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from datetime import datetime

from adapters.base import (
    ATTEMPT_TAG,
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    CapacityError,
    CloudError,
    CloudPort,
    NodeSpec,
    Offering,
    QuotaError,
    ThrottledError,
)
from scheduler.api.tls import ClientTLS
from scheduler.control.backoff import Backoff
from scheduler.control.bootstrap import boot_script
from scheduler.control.settings import ControlSettings
from scheduler.domain import AttemptView, JobState, JobView, Placement
from scheduler.logging_setup import log_fields
from scheduler.offerings import OfferingCatalog
from scheduler.store import AttemptStore
from scheduler.tokens import attempt_token

log = logging.getLogger(__name__)


def node_tags(job: JobView, attempt_id: str) -> dict[str, str]:
    return {
        MANAGED_BY_TAG: MANAGED_BY_VALUE,
        "skybatch-job": job.id,
        ATTEMPT_TAG: attempt_id,
        "skybatch-tenant": job.tenant,
    }


def attempt_of(tags: Mapping[str, str]) -> str:
    """The attempt id a node was launched for ("" when it carries none)."""
    return tags.get(ATTEMPT_TAG, "")


def quota_pool_named(off: Offering, message: str) -> str:
    """The pool of ``off`` a quota error is about: its GPU pool when the cloud's message
    speaks of GPUs (GCE "NVIDIA_T4_GPUS", AWS "P/G instances"), else its vCPU pool."""
    pools = [pool for pool, _ in off.quota_draw]
    if len(pools) > 1 and "gpu" in message.lower():
        return pools[1]
    return pools[0]


def placement_of(o: Offering) -> Placement:
    return Placement(o.cloud, o.region, o.zone, o.instance_type, o.market.value, o.price_per_hour)


class Launcher:
    def __init__(
        self,
        attempts: AttemptStore,
        catalog: OfferingCatalog,
        *,
        secret: str,
        server_address: str,
        worker_python: str,
        settings: ControlSettings,
        clock: Callable[[], datetime],
        monotonic: Callable[[], float] = time.monotonic,
        worker_tls: ClientTLS | None = None,
    ) -> None:
        self.attempts = attempts
        #: What workers dial a TLS server with (its CA; under mutual TLS their client
        #: certificate too); None: they dial plaintext.
        self.worker_tls = worker_tls
        self.catalog = catalog
        self.secret = secret
        self.server_address = server_address
        self.worker_python = worker_python
        self.settings = settings
        self.clock = clock
        #: Seconds for cooldowns and backoff (the simulator passes its virtual clock's).
        self.monotonic = monotonic
        #: offering id -> monotonic time until which it is avoided
        self.blocked: dict[str, float] = {}
        #: throttled launches, per attempt id
        self.backoff = Backoff(
            base_s=settings.throttle_base_s,
            cap_s=settings.throttle_cap_s,
            max_tries=settings.throttle_max_tries,
            clock=monotonic,
        )
        self.launches = 0
        self.launch_failures = 0
        self.throttled = 0
        #: True once this replica may not launch any more (it lost the leader lock,
        #: scheduler/control/leader.py): the attempt stays LAUNCHING for the new leader,
        #: which resumes it with the same idempotency token.
        self.fenced: Callable[[], bool] = lambda: False

    def blocked_now(self) -> set[str]:
        now = self.monotonic()
        self.blocked = {k: v for k, v in self.blocked.items() if v > now}
        return set(self.blocked)

    def launch_planned(self) -> None:
        offerings = self.catalog.by_id()
        for job in self.attempts.jobs_in(JobState.PLANNED):
            off = offerings.get(job.planned_offering)
            if off is None or off.id in self.blocked_now():
                self.attempts.unplan(job.id, "offering no longer available", self.clock())
                continue
            attempt = self.attempts.start_attempt(job.id, placement_of(off), self.clock())
            if attempt is not None:
                self._launch(job, attempt, off)

    def resume(self, attempt: AttemptView) -> None:
        """Call launch again for an attempt that has no node recorded (crash recovery, or a
        throttled launch whose backoff has run out)."""
        if not self.backoff.ready(attempt.id):
            return
        found = self.attempts.attempt(attempt.id)
        if found is None:
            return
        off = self.catalog.by_id().get(attempt.placement.offering_id)
        if off is None:
            self.attempts.launch_failed(attempt.id, "offering vanished", self.clock())
            return
        self._launch(found[1], attempt, off)

    def _launch(self, job: JobView, attempt: AttemptView, off: Offering) -> None:
        cloud: CloudPort = self.catalog.clouds[off.cloud]
        spec = NodeSpec(
            offering=off,
            name=f"skybatch-{job.id}-{attempt.number}",
            user_data=boot_script(
                python=self.worker_python,
                server=self.server_address,
                attempt_id=attempt.id,
                token=attempt_token(self.secret, attempt.id),
                tls=self.worker_tls,
            ),
            tags=node_tags(job, attempt.id),
        )
        fields = log_fields(
            job_id=job.id,
            attempt_id=attempt.id,
            tenant=job.tenant,
            cloud=off.cloud,
            region=off.region,
        )
        if self.fenced():
            log.warning("not launching %s: this replica no longer leads", attempt.id)
            return
        try:
            node = cloud.launch(spec, token=attempt.id)
        except (CapacityError, QuotaError) as exc:
            self.launch_failures += 1
            self.backoff.forget(attempt.id)
            self.blocked[off.id] = self.monotonic() + self.settings.capacity_cooldown_s
            kind = "capacity" if isinstance(exc, CapacityError) else "quota"
            if isinstance(exc, QuotaError) and exc.limit is not None:
                pool = quota_pool_named(off, str(exc))
                self.catalog.lower_quota(pool, exc.limit)
                kind = f"quota (limit of {pool} now {exc.limit:g})"
            log.warning(
                "launch of %s on %s refused (%s): %s", attempt.id, off.id, kind, exc, extra=fields
            )
            self.attempts.launch_failed(
                attempt.id, f"{kind} error on {off.id}: {exc}", self.clock()
            )
            return
        except ThrottledError as exc:
            # Leave the attempt LAUNCHING: the reconciler resumes it with the same token
            # once its backoff has run out, or gives up after max_tries.
            self.throttled += 1
            tries = self.backoff.failed(attempt.id)
            if self.backoff.exhausted(attempt.id):
                self.backoff.forget(attempt.id)
                self.launch_failures += 1
                log.warning(
                    "launch of %s throttled %d times: giving up", attempt.id, tries, extra=fields
                )
                self.attempts.launch_failed(
                    attempt.id, f"launch throttled {tries} times: {exc}", self.clock()
                )
            else:
                log.warning(
                    "launch of %s throttled (try %d): %s", attempt.id, tries, exc, extra=fields
                )
            return
        except CloudError as exc:
            self.launch_failures += 1
            log.error("launch of %s on %s failed: %s", attempt.id, off.id, exc, extra=fields)
            self.attempts.launch_failed(attempt.id, f"launch failed: {exc}", self.clock())
            return
        self.launches += 1
        self.backoff.forget(attempt.id)
        self.attempts.attempt_launched(
            attempt.id,
            node_id=node.node_id,
            region=node.region,
            instance_type=node.instance_type,
            now=self.clock(),
        )
        log.info(
            "job %s attempt %d launched on %s as %s",
            job.id,
            attempt.number,
            off.id,
            node.node_id,
            extra={**fields, **log_fields(node_id=node.node_id)},
        )
