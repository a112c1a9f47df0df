"""The load: functions each run in a client process of their own, with their own channel.

They call the generated stubs directly (not :class:`scheduler.api.SkybatchClient`): a
load generator on the same two cores as the server must not spend its CPU turning
every answer into domain objects. Each function waits until ``start_at`` (wall clock)
so that processes spawned one after another start together, and returns plain data:
counts, start and end times and latencies in milliseconds.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc

from scheduler.api.gen.skybatch.v1 import jobs_pb2 as pb
from scheduler.api.gen.skybatch.v1 import jobs_pb2_grpc
from scheduler.api.status import TENANT_METADATA_KEY

CALL_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class Target:
    address: str
    #: Sent as ``authorization: Bearer <token>`` when set.
    token: str = ""

    def metadata(self, tenant: str = "") -> tuple[tuple[str, str], ...]:
        md: list[tuple[str, str]] = []
        if self.token:
            md.append(("authorization", f"Bearer {self.token}"))
        if tenant:
            md.append((TENANT_METADATA_KEY, tenant))
        return tuple(md)

    def stub(self) -> tuple[grpc.Channel, Any]:
        # A target listing several replicas spreads calls over them.
        options = [("grpc.lb_policy_name", "round_robin")] if "," in self.address else []
        channel = grpc.insecure_channel(self.address, options=options)
        grpc.channel_ready_future(channel).result(timeout=30)
        return channel, jobs_pb2_grpc.JobServiceStub(channel)  # type: ignore[no-untyped-call]


def job_spec(name: str, i: int = 0) -> pb.JobSpec:
    """A small CPU job the local cloud's offerings can run; ``i`` varies its shape,
    runtime, deadline and spot choice, so that a plan has many job classes."""
    rng = random.Random(i)
    spec = pb.JobSpec(
        name=name,
        command=["sleep", "60"],
        labels={"bench": "service"},
        resources=pb.Resources(vcpus=rng.choice((1, 2, 4)), memory_gib=rng.choice((1, 2, 4))),
        spot_allowed=rng.random() < 0.5,
    )
    spec.estimated_runtime.FromTimedelta(timedelta(minutes=rng.randint(5, 120)))
    spec.deadline.FromDatetime(datetime.now(UTC) + timedelta(hours=rng.randint(3, 12)))
    return spec


def _wait(start_at: float) -> None:
    time.sleep(max(0.0, start_at - time.time()))


def submit_batches(
    target: Target, *, batches: int, size: int, start_at: float, tenant: str = ""
) -> dict[str, Any]:
    """``batches`` calls of ``SubmitJobs`` with ``size`` specs each, one after another."""
    channel, stub = target.stub()
    requests = [
        pb.SubmitJobsRequest(specs=[job_spec(f"batch-{b}-{i}", b * size + i) for i in range(size)])
        for b in range(batches)
    ]
    md = target.metadata(tenant)
    latencies: list[float] = []
    ids: list[str] = []
    _wait(start_at)
    start = time.time()
    jobs = 0
    for request in requests:
        t0 = time.perf_counter()
        r = stub.SubmitJobs(request, metadata=md, timeout=CALL_TIMEOUT_S)
        latencies.append((time.perf_counter() - t0) * 1e3)
        jobs += len(r.results)
        ids.extend(x.job.id for x in r.results[:: max(1, size // 100)])
    end = time.time()
    channel.close()
    return {"jobs": jobs, "calls": len(requests), "start": start, "end": end,
            "latencies_ms": latencies, "ids": ids}  # fmt: skip


def closed_loop(
    target: Target,
    *,
    kind: str,
    threads: int,
    start_at: float,
    duration_s: float,
    ids: list[str] | None = None,
    pause_s: float = 0.0,
    tenant: str = "",
) -> dict[str, Any]:
    """``threads`` callers, each with one call in flight at a time (then ``pause_s`` of
    rest), for ``duration_s``: ``kind`` is ``submit``, ``get`` or ``list``."""
    channel, stub = target.stub()
    md = target.metadata(tenant)
    known = ids or []
    call: Callable[[random.Random], Any]
    if kind == "submit":
        requests = [pb.SubmitJobRequest(spec=job_spec("single", i)) for i in range(64)]
        call = lambda r: stub.SubmitJob(  # noqa: E731
            r.choice(requests), metadata=md, timeout=CALL_TIMEOUT_S
        )
    elif kind == "get":
        call = lambda r: stub.GetJob(  # noqa: E731
            pb.GetJobRequest(job_id=r.choice(known)), metadata=md, timeout=CALL_TIMEOUT_S
        )
    elif kind == "list":
        # Pages start at random points of the keyset (tokens are "n<row number>").
        top = max(1, len(known) * 10)
        call = lambda r: stub.ListJobs(  # noqa: E731
            pb.ListJobsRequest(page_size=100, page_token=f"n{r.randrange(top)}"),
            metadata=md,
            timeout=CALL_TIMEOUT_S,
        )
    else:
        raise ValueError(f"unknown kind {kind!r}")
    per_thread: list[list[float]] = [[] for _ in range(threads)]
    errors: list[str] = []
    end_at = start_at + duration_s

    def run(k: int) -> None:
        rng = random.Random(k)
        out = per_thread[k]
        while time.time() < end_at:
            t0 = time.perf_counter()
            try:
                call(rng)
            except grpc.RpcError as exc:
                errors.append(str(exc.code()))
                continue
            out.append((time.perf_counter() - t0) * 1e3)
            if pause_s:
                time.sleep(pause_s)

    workers = [threading.Thread(target=run, args=(k,)) for k in range(threads)]
    _wait(start_at)
    start = time.time()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    end = time.time()
    channel.close()
    latencies = [x for out in per_thread for x in out]
    return {"calls": len(latencies), "start": start, "end": end, "latencies_ms": latencies,
            "errors": errors}  # fmt: skip


def watch_streams(
    target: Target, *, tenants: list[str], ready_dir: str, name: str, max_s: float
) -> dict[str, Any]:
    """One ``WatchJobs`` stream per tenant, from the beginning of its events. Each tenant
    has one event before the streams open; once every stream here got it, the file
    ``ready_dir/name`` appears. The streams close when ``ready_dir/stop`` appears (or
    after ``max_s``). Lag is arrival time minus the event's ``at`` (the submit's clock
    reading, just before its commit)."""
    channel, stub = target.stub()
    calls = [stub.WatchJobs(pb.WatchJobsRequest(), metadata=target.metadata(t)) for t in tenants]
    lags: list[list[float]] = [[] for _ in calls]
    arrivals: list[list[float]] = [[] for _ in calls]
    opened = threading.Semaphore(0)
    failures: list[str] = []

    def read(k: int) -> None:
        try:
            for i, event in enumerate(calls[k]):
                now = time.time()
                if i == 0:
                    opened.release()
                    continue
                lags[k].append((now - event.at.seconds - event.at.nanos / 1e9) * 1e3)
                arrivals[k].append(now)
        except grpc.RpcError as exc:
            if exc.code() != grpc.StatusCode.CANCELLED:
                failures.append(str(exc.code()))
                opened.release()

    readers = [threading.Thread(target=read, args=(k,), daemon=True) for k in range(len(calls))]
    for r in readers:
        r.start()
    give_up = time.time() + max_s
    for _ in calls:
        opened.acquire(timeout=max(0.0, give_up - time.time()))
    Path(ready_dir, name).touch()
    stop = Path(ready_dir, "stop")
    while not stop.exists() and time.time() < give_up:
        time.sleep(0.05)
    for c in calls:
        c.cancel()
    for r in readers:
        r.join(timeout=10)
    channel.close()
    return {"lags_ms": [x for xs in lags for x in xs], "arrivals": arrivals, "failures": failures}


def submit_round_robin(
    target: Target, *, tenants: list[str], size: int, start_at: float, duration_s: float
) -> dict[str, Any]:
    """``SubmitJobs`` of ``size`` specs for each tenant in turn, for ``duration_s``."""
    channel, stub = target.stub()
    request = pb.SubmitJobsRequest(specs=[job_spec(f"rr-{i}", i) for i in range(size)])
    mds = [target.metadata(t) for t in tenants]
    _wait(start_at)
    start = time.time()
    jobs = calls = 0
    while time.time() < start_at + duration_s:
        r = stub.SubmitJobs(request, metadata=mds[calls % len(mds)], timeout=CALL_TIMEOUT_S)
        jobs += len(r.results)
        calls += 1
    end = time.time()
    channel.close()
    return {"jobs": jobs, "calls": calls, "start": start, "end": end}


def explain(target: Target, job_id: str) -> dict[str, Any]:
    """What the latest plan says about ``job_id`` (proof that the planner saw it)."""
    channel, stub = target.stub()
    r = stub.ExplainJob(
        pb.ExplainJobRequest(job_id=job_id, alternatives=1),
        metadata=target.metadata(),
        timeout=CALL_TIMEOUT_S,
    )
    channel.close()
    return {"placed": r.decision.placed, "reason": r.decision.reason, "considered": r.considered,
            "note": r.note}  # fmt: skip


def submit_hello(target: Target, *, tenants: list[str]) -> list[str]:
    """One job per tenant, so that every tenant's stream has an event to start with."""
    channel, stub = target.stub()
    ids = []
    for t in tenants:
        r = stub.SubmitJob(
            pb.SubmitJobRequest(spec=job_spec(f"hello-{t}")),
            metadata=target.metadata(t),
            timeout=CALL_TIMEOUT_S,
        )
        ids.append(r.job.id)
    channel.close()
    return ids


def warm_up(seconds: float) -> int:
    """Keeps a pool process busy for a moment, so that every process gets spawned."""
    time.sleep(seconds)
    return 0
