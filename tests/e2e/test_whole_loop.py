"""The whole loop with real worker processes: place, launch, checkpoint, preempt,
resume, finish, cancel, lose a node, and survive a crash between launch steps."""

from __future__ import annotations

import json
import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from libcloud.compute.types import NodeState

from adapters.base import MANAGED_BY_TAG, MANAGED_BY_VALUE, NodeSpec
from adapters.checkpoints import checkpoint_store_from_uri
from adapters.local import PreemptionPolicy, ScheduledPreemption
from scheduler.api.client import SkybatchClient
from scheduler.control import ControlSettings
from scheduler.control.launcher import placement_of
from scheduler.domain import AttemptState, JobState, utcnow
from scheduler.store.tables import AttemptRow, NodeRow
from scheduler.workloads.counter import expected_digest
from tests.conftest import ServiceFactory
from tests.e2e.helpers import (
    counter_job,
    live_nodes,
    running,
    terminal,
    wait_for,
    wait_no_live_nodes,
)


def test_preempted_job_resumes_from_its_last_checkpoint(
    service_factory: ServiceFactory, tmp_path: Path
) -> None:
    svc = service_factory(
        preemption=PreemptionPolicy(
            grace_s=3.0, schedule=(ScheduledPreemption(nth_spot_launch=1, after_s=2.5),)
        )
    )
    steps = 24
    with SkybatchClient(svc.address) as c:
        [(job, _)] = c.submit([counter_job("spot", steps, 0.25, spot_allowed=True)])
        done = wait_for(c, job.id, terminal, timeout_s=60)
    assert done.state is JobState.SUCCEEDED, done.state_reason
    assert done.preemptions == 1
    first, second = done.attempts
    assert first.placement.market == "spot" and first.state is AttemptState.PREEMPTED
    assert first.preempted and second.state is AttemptState.SUCCEEDED

    # The final checkpoint holds the job's own ledger of which attempt ran each step.
    store = checkpoint_store_from_uri(svc.config.checkpoints)
    restored = tmp_path / "final"
    assert store.restore(job.id, restored) is not None
    state = json.loads((restored / "state.json").read_text())
    result = json.loads((restored / "result.json").read_text())
    ledger = [(e["step"], e["attempt"]) for e in state["ledger"]]
    assert [s for s, _ in ledger] == list(range(steps)), "a step was lost or run twice"
    resumed_at = next(s for s, a in ledger if a == 2)
    assert 0 < resumed_at < steps, "progress before the preemption was kept"
    assert all(a == 1 for s, a in ledger if s < resumed_at)
    assert all(a == 2 for s, a in ledger if s >= resumed_at)
    assert result["digest"] == expected_digest(steps)


def test_cancel_while_running_terminates_the_node(service_factory: ServiceFactory) -> None:
    svc = service_factory()
    with SkybatchClient(svc.address) as c:
        [(job, _)] = c.submit([counter_job("long", 400, 0.25)])
        wait_for(c, job.id, running)
        assert len(live_nodes(svc)) == 1
        c.cancel(job.id, "test")
        wait_no_live_nodes(svc)
        done = wait_for(
            c, job.id, lambda j: all(not a.state.live for a in j.attempts), timeout_s=20
        )
    assert done.state is JobState.CANCELLED
    assert [a.state for a in done.attempts] == [AttemptState.CANCELLED]
    cost_then = done.cost
    time.sleep(1)
    with SkybatchClient(svc.address) as c:
        assert c.get(job.id).cost == cost_then, "a cancelled job stopped costing money"


def test_silent_worker_is_terminated_and_its_job_requeued(service_factory: ServiceFactory) -> None:
    svc = service_factory(
        control=ControlSettings(tick_interval_s=0.3, restart_overhead_s=2, heartbeat_timeout_s=3)
    )
    with SkybatchClient(svc.address) as c:
        [(job, _)] = c.submit([counter_job("frozen", 30, 0.2)])
        wait_for(c, job.id, running)
        [node_id] = live_nodes(svc)
        pid = int(svc.driver.list_nodes()[0].extra["pid"])
        os.killpg(pid, signal.SIGSTOP)  # the node hangs: no heartbeats, no exit
        done = wait_for(c, job.id, terminal, timeout_s=60)
    assert done.state is JobState.SUCCEEDED
    first, second = done.attempts
    assert first.state is AttemptState.FAILED and not first.preempted
    assert second.state is AttemptState.SUCCEEDED and second.node_id != node_id
    wait_no_live_nodes(svc)


def test_orphan_node_is_terminated(service_factory: ServiceFactory) -> None:
    svc = service_factory()
    cloud = svc.catalog.clouds["local"]
    off = next(o for o in svc.catalog.offerings() if o.market.value == "on-demand")
    node = cloud.launch(
        NodeSpec(
            off,
            "stray",
            "sleep 60",
            {MANAGED_BY_TAG: MANAGED_BY_VALUE, "skybatch-attempt": "a-unknown"},
        ),
        token="stray-token",
    )
    wait_no_live_nodes(svc)
    assert svc.loop.reconciler.orphans_terminated == 1
    assert node.node_id not in live_nodes(svc)


def test_crash_between_attempt_row_and_launch_record_loses_nothing(
    service_factory: ServiceFactory, tmp_path: Path
) -> None:
    """Two crash windows, replayed from the store: (a) the attempt row is committed
    but the cloud was never called; (b) the cloud launched the node but the node id
    never reached the store. A restarted loop launches (a) once and adopts (b)."""
    data = tmp_path / "state"
    first = service_factory(control_loop=False, data_dir=data)
    now = utcnow()
    with SkybatchClient(first.address) as c:
        (a, _), (b, _) = c.submit([counter_job("a", 8, 0.2), counter_job("b", 8, 0.2)])
    off = next(o for o in first.catalog.offerings() if o.market.value == "on-demand")
    for job in (a, b):
        assert first.attempts.plan(job.id, off.id, now)
    att_a = first.attempts.start_attempt(a.id, placement_of(off), now)
    att_b = first.attempts.start_attempt(b.id, placement_of(off), now)
    assert att_a and att_b
    # (b): the launch call goes through, then "the process dies" before recording it.
    found = first.attempts.attempt(att_b.id)
    assert found is not None
    first.launcher._launch(found[1], att_b, off)  # records; undo the record below
    with first.db.write() as s:
        row = s.get(AttemptRow, att_b.id)
        assert row is not None
        node_b = row.node_id
        row.node_id = ""
        row.launched_at = None
        s.add(row)
        node_row = s.get(NodeRow, node_b)
        assert node_row is not None
        s.delete(node_row)
    first.stop(grace_s=0.2)

    # Workers know the server by address, as on a real cloud: restart on the same one.
    second = service_factory(data_dir=data, bind=first.address)
    with SkybatchClient(second.address) as c:
        done_a = wait_for(c, a.id, terminal)
        done_b = wait_for(c, b.id, terminal)
    assert done_a.state is JobState.SUCCEEDED and done_b.state is JobState.SUCCEEDED
    assert [x.id for x in done_a.attempts] == [att_a.id]
    assert [x.node_id for x in done_b.attempts] == [node_b], "node (b) adopted, not relaunched"
    launched = second.driver.list_nodes()
    assert len(launched) == 2, "exactly one node per job"
    wait_no_live_nodes(second)
    assert all(n.state == NodeState.TERMINATED for n in second.driver.list_nodes())
    assert datetime.now(UTC) - now < timedelta(minutes=2)
