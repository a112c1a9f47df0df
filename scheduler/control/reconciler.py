"""Reconcile step: compare what the clouds say with what the store says, and act.

- a node gone or stopped under a live attempt: preemption (spot, or the cloud says
  so) or a lost node; the job goes back to pending with its checkpointed progress;
- a live attempt whose worker went silent: its node is terminated, the attempt fails;
- an attempt with no node recorded (a crash during launch): the node is found by its
  tags and adopted, or the launch is called again with the same idempotency token;
- a node with our tags and no live attempt (an orphan), or whose job is over:
  terminated.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from adapters.base import (
    MANAGED_BY_TAG,
    MANAGED_BY_VALUE,
    CloudError,
    Market,
    NodeInfo,
    NodeStatus,
)
from scheduler.control.launcher import Launcher, attempt_of
from scheduler.control.settings import ControlSettings
from scheduler.domain import AttemptView
from scheduler.logging_setup import log_fields
from scheduler.offerings import OfferingCatalog
from scheduler.store import AttemptStore, LiveAttempt

log = logging.getLogger(__name__)
_GONE = (NodeStatus.TERMINATED, NodeStatus.STOPPED)


class Reconciler:
    def __init__(
        self,
        attempts: AttemptStore,
        catalog: OfferingCatalog,
        launcher: Launcher,
        *,
        settings: ControlSettings,
        clock: Callable[[], datetime],
    ) -> None:
        self.attempts = attempts
        self.catalog = catalog
        self.launcher = launcher
        self.settings = settings
        self.clock = clock
        self.orphans_terminated = 0
        self.preemptions_seen = 0

    def _nodes(self) -> tuple[dict[str, list[NodeInfo]], set[str]]:
        """Our nodes per cloud, and the clouds that could not list them this time."""
        out: dict[str, list[NodeInfo]] = {}
        failed: set[str] = set()
        for name, cloud in self.catalog.clouds.items():
            try:
                out[name] = list(cloud.list_nodes({MANAGED_BY_TAG: MANAGED_BY_VALUE}))
            except CloudError as exc:
                log.warning("cannot list nodes of %s: %s; its attempts wait a tick", name, exc)
                failed.add(name)
        return out, failed

    def reconcile(self) -> None:
        nodes, failed = self._nodes()
        by_id = {n.node_id: n for ns in nodes.values() for n in ns}
        by_attempt = {attempt_of(n.tags): n for n in by_id.values()}
        live = self.attempts.live_attempts()
        for la in live:
            # A cloud that did not answer says nothing about its nodes: judging its
            # attempts now would take every one of them for lost. The others go on.
            if la.attempt.placement.cloud not in failed:
                self._check(la, by_id, by_attempt)
        self.terminate_finished()
        live_ids = {la.attempt.id for la in self.attempts.live_attempts()}
        known = self.attempts.known_node_ids()
        for node in by_id.values():
            if node.status in _GONE or attempt_of(node.tags) in live_ids:
                continue
            if node.node_id in known:
                continue  # ours and recorded: terminate_finished deals with it
            log.warning(
                "orphan node %s (attempt %s): terminating",
                node.node_id,
                attempt_of(node.tags) or "?",
            )
            self._terminate(node.cloud, node.node_id)
            self.orphans_terminated += 1

    def _check(
        self, la: LiveAttempt, by_id: dict[str, NodeInfo], by_attempt: dict[str, NodeInfo]
    ) -> None:
        att = la.attempt
        now = self.clock()
        if not att.node_id:
            node = by_attempt.get(att.id)
            if node is not None:
                # Launched before a crash, never recorded: adopt it.
                self.attempts.attempt_launched(
                    att.id,
                    node_id=node.node_id,
                    region=node.region,
                    instance_type=node.instance_type,
                    now=now,
                )
            elif la.job_state.terminal:
                self.attempts.launch_failed(att.id, "job ended before launch", now)
            else:
                self.launcher.resume(att)
            return
        node = by_id.get(att.node_id)
        if node is None or node.status in _GONE:
            # A spot node that is gone was reclaimed, whether the cloud still lists it
            # (stopped, terminated) or no longer does.
            if node is None:
                preempted = att.placement.market == Market.SPOT.value
            else:
                preempted = node.preempted or node.market is Market.SPOT
            reason = "spot node preempted" if preempted else "node disappeared"
            if preempted:
                self.preemptions_seen += 1
            log.warning(
                "attempt %s: %s (node %s)",
                att.id,
                reason,
                att.node_id,
                extra=_fields(att),
            )
            self.attempts.node_lost(att.id, preempted=preempted, reason=reason, now=now)
            self.attempts.node_terminated(att.node_id, now)
            return
        if la.job_state.terminal:
            return  # terminate_finished stops the node
        last = att.last_heartbeat or la.launched_at or att.created_at
        limit = (
            self.settings.heartbeat_timeout_s
            if att.last_heartbeat
            else self.settings.launch_timeout_s
        )
        if (now - last).total_seconds() > limit:
            log.warning(
                "attempt %s: no heartbeat for %.0fs: terminating %s",
                att.id,
                (now - last).total_seconds(),
                att.node_id,
                extra=_fields(att),
            )
            self.attempts.node_lost(att.id, preempted=False, reason="heartbeats stopped", now=now)
            self._terminate(att.placement.cloud, att.node_id)

    def terminate_finished(self) -> None:
        """Terminate the nodes of attempts that ended (idempotent; a failure retries)."""
        for cloud, node_id in self.attempts.nodes_to_terminate():
            self._terminate(cloud, node_id)

    def _terminate(self, cloud: str, node_id: str) -> None:
        port = self.catalog.clouds.get(cloud)
        if port is None:
            log.error("node %s belongs to unknown cloud %s", node_id, cloud)
            return
        try:
            port.terminate(node_id)
        except CloudError as exc:
            log.warning("terminate %s failed (will retry): %s", node_id, exc)
            return
        self.attempts.node_terminated(node_id, self.clock())


def _fields(att: AttemptView) -> dict[str, object]:
    p = att.placement
    return log_fields(
        job_id=att.job_id,
        attempt_id=att.id,
        cloud=p.cloud,
        region=p.region,
        node_id=att.node_id,
    )
