"""The simulation's remembering store answers every read as the database does.

Random sequences of the store's writes (valid and invalid ones: heartbeats on ended
attempts, launches recorded twice, unknown nodes terminated, ...) run through
:class:`CachedAttemptStore`; after each, its reads are compared with a plain
:class:`AttemptStore` reading the same database.
"""

from __future__ import annotations

import inspect
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from scheduler.domain import JobSpec, JobState, Placement
from scheduler.sim.store import READS, WRITES, CachedAttemptStore
from scheduler.store import AttemptStore, Database, JobStore

T0 = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
STATE_SETS: tuple[tuple[JobState, ...], ...] = (
    (JobState.PENDING,),
    (JobState.PLANNED,),
    (JobState.PLANNED, JobState.LAUNCHING, JobState.RUNNING),
    (JobState.SUCCEEDED, JobState.FAILED),
)


#: Operations, weighted by repetition.
OPS = [
    "submit",
    "plan",
    "plan",
    "wait",
    "unplan",
    "start",
    "start",
    "launched",
    "launched",
    "beat",
    "beat",
    "beat",
    "ckpt",
    "finish",
    "finish",
    "failed",
    "lost",
    "terminate",
    "terminate",
    "read",
]


def placement(k: int) -> Placement:
    market = "spot" if k % 2 else "on-demand"
    return Placement("sim", "r1", "r1-a", f"t{k % 3}", market, Decimal("0.5"))


def test_every_public_method_is_classified() -> None:
    public = {
        name
        for name, member in inspect.getmembers(AttemptStore, inspect.isfunction)
        if not name.startswith("_")
    }
    assert public == READS | WRITES, "classify the new AttemptStore method in sim/store.py"


def same_reads(cached: CachedAttemptStore, plain: AttemptStore) -> None:
    for states in STATE_SETS:
        assert cached.jobs_in(*states) == plain.jobs_in(*states), states
    assert cached.live_attempts() == plain.live_attempts()
    assert cached.known_node_ids() == plain.known_node_ids()
    assert cached.nodes_to_terminate() == plain.nodes_to_terminate()


@pytest.mark.parametrize("seed", range(6))
def test_remembered_reads_equal_fresh_ones(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    db = Database(f"sqlite:///{tmp_path / 's.db'}")
    jobs = JobStore(db)
    cached = CachedAttemptStore(db)
    plain = AttemptStore(db)
    now = T0
    attempts: list[str] = []
    nodes: list[str] = []
    for step in range(260):
        now += timedelta(seconds=rng.randint(1, 90))
        pending = plain.jobs_in(JobState.PENDING)
        planned = plain.jobs_in(JobState.PLANNED)
        op = rng.choice(OPS)
        if op == "submit" or not (pending or planned or attempts):
            spec = JobSpec(
                name=f"j{step}",
                command=("x",),
                estimated_runtime=timedelta(minutes=rng.randint(1, 30)),
                deadline=now + timedelta(hours=2),
            )
            jobs.submit("t", [spec], now)
            cached.submitted()
        elif op == "plan" and pending:
            cached.plan(rng.choice(pending).id, placement(step).offering_id, now)
        elif op == "wait" and pending:
            cached.note_waiting(rng.choice(pending).id, f"waiting {rng.randint(0, 2)}", now)
        elif op == "unplan" and planned:
            cached.unplan(rng.choice(planned).id, "gone", now)
        elif op == "start" and planned:
            view = cached.start_attempt(rng.choice(planned).id, placement(step), now)
            if view is not None:
                attempts.append(view.id)
        elif op == "launched" and attempts:
            att = rng.choice(attempts)
            node = f"n-{att}" if rng.random() < 0.8 else f"n-{step}"
            nodes.append(node)
            cached.attempt_launched(att, node_id=node, region="r1", instance_type="t", now=now)
        elif op == "beat" and attempts:
            cached.heartbeat(rng.choice(attempts), rng.random(), now)
        elif op == "ckpt" and attempts:
            cached.report_checkpoint(rng.choice(attempts), step, rng.random(), now)
        elif op == "finish" and attempts:
            code = rng.choice([0, 0, 1, 143])
            cached.finish(rng.choice(attempts), code, code == 143, "m", now)
        elif op == "failed" and attempts:
            cached.launch_failed(rng.choice(attempts), "quota", now)
        elif op == "lost" and attempts:
            cached.node_lost(
                rng.choice(attempts), preempted=rng.random() < 0.5, reason="r", now=now
            )
        elif op == "terminate" and (nodes or attempts):
            node = rng.choice(nodes) if nodes and rng.random() < 0.9 else "n-unknown"
            cached.node_terminated(node, now)
        if rng.random() < 0.6:
            same_reads(cached, plain)
    same_reads(cached, plain)
    assert cached.hits > 0
    db.close()
