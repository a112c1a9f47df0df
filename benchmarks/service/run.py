"""Throughput and latency of the gRPC API, driven from separate client processes.

    .venv/bin/python -m benchmarks.service.run [--quick] [--repeat N] [--token T]
        [--markdown] [--out PATH]

Starts ``skybatch serve`` (SQLite in a temporary data dir, the local cloud with no
vCPU quota, so every job stays PENDING and nothing launches) and measures, from client
processes that each open their own channel (:mod:`benchmarks.service.clients`):

- ``SubmitJobs`` in batches of 1,000 specs from 4 processes: jobs/s;
- single ``SubmitJob`` with 1, 4, 16 and 64 calls in flight: calls/s, p50/p99;
- ``GetJob`` and ``ListJobs`` (a page of 100) with 16 in flight: calls/s, p50/p99;
- 100 ``WatchJobs`` streams (one tenant each) open while two processes submit to
  those tenants in turn: events delivered per second, delivery lag p50/p99 (arrival
  minus the submit's clock reading), how many streams kept receiving; and the p99 of
  single submits and ``GetJob`` with the streams open against the same load without;
- a plan tick not blocking the API: 10,000 pending jobs; single-submit p99 with the
  control loop idle, then with the loop planning over them every tick (a second
  server on the same store, ``--tick 0.5``; its log has a line per plan tick, and
  ``ExplainJob`` of one of the 10,000 shows the plan covered it);
- the server's resident memory (``/proc``): peak and at the end.

For the API phases the control loop ticks once at start and then sleeps (``--tick``
of a day). Every figure is printed with PASS/MISS against the issue's targets;
everything (machine, load average before and after, every repetition) goes to
``results.json`` next to this file. ``--quick`` is a smoke run of well under a minute.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing as mp
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, replace
from itertools import pairwise
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.machine import machine
from benchmarks.service import clients
from benchmarks.service.clients import Target
from benchmarks.service.server import IDLE_TICK_S, Replicas, Serve

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
POOL_PROCESSES = 8
LEAD_S = 1.5

#: The server for the API phases, and the one for the plan tick (``--only``).
PARTS = ("api", "tick")

TARGET_BATCH_JOBS_S = 10_000.0
TARGET_SINGLE_CALLS_S = 1_000.0
TARGET_SINGLE_P99_MS = 25.0
TARGET_TICK_RATIO = 2.0


@dataclass(frozen=True)
class Sizes:
    batch_procs: int = 4
    batches: int = 5
    batch_size: int = 1_000
    levels: tuple[int, ...] = (1, 4, 16, 64)
    duration_s: float = 3.0
    read_threads: int = 16
    streams: int = 100
    watch_procs: int = 4
    watch_batch: int = 20
    watch_s: float = 5.0
    tick_jobs: int = 10_000
    tick_interval_s: float = 0.5
    probe_threads: int = 4
    probe_pause_s: float = 0.01
    probe_s: float = 8.0
    repeat: int = 2
    #: ``skybatch serve`` processes sharing the store for the API phases (replicas;
    #: clients spread their calls over them round-robin).
    replicas: int = 1


FULL = Sizes()
QUICK = Sizes(
    batch_procs=2,
    batches=2,
    batch_size=200,
    levels=(1, 4),
    duration_s=1.0,
    read_threads=4,
    streams=10,
    watch_procs=2,
    watch_batch=5,
    watch_s=1.5,
    tick_jobs=500,
    probe_s=2.0,
    repeat=1,
)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def pct(values: Sequence[float], q: float) -> float:
    return float(np.percentile(np.asarray(values, dtype=np.float64), q)) if values else math.nan


def span(results: Sequence[dict[str, Any]]) -> float:
    return float(max(r["end"] for r in results) - min(r["start"] for r in results))


def latency(results: Sequence[dict[str, Any]]) -> dict[str, float]:
    lat = [x for r in results for x in r["latencies_ms"]]
    calls = sum(r["calls"] for r in results)
    return {
        "calls": calls,
        "calls_per_s": calls / span(results),
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "errors": sum(len(r.get("errors", ())) for r in results),
    }


class Bench:
    def __init__(self, pool: ProcessPoolExecutor, sizes: Sizes, token: str) -> None:
        self.pool = pool
        self.sizes = sizes
        self.token = token

    def gather(self, futures: Sequence[Future[Any]]) -> list[Any]:
        return [f.result(timeout=600) for f in futures]

    def batches(self, target: Target) -> dict[str, Any]:
        s = self.sizes
        start_at = time.time() + LEAD_S
        results = self.gather(
            [
                self.pool.submit(
                    clients.submit_batches,
                    target,
                    batches=s.batches,
                    size=s.batch_size,
                    start_at=start_at,
                )
                for _ in range(s.batch_procs)
            ]
        )
        jobs = sum(r["jobs"] for r in results)
        return {
            **latency(results),
            "jobs": jobs,
            "jobs_per_s": jobs / span(results),
            "ids": [i for r in results for i in r["ids"]],
        }

    def closed(
        self,
        target: Target,
        kind: str,
        in_flight: int,
        duration_s: float,
        *,
        ids: list[str] | None = None,
        pause_s: float = 0.0,
        procs: int = 4,
    ) -> dict[str, Any]:
        procs = max(1, min(procs, in_flight))
        start_at = time.time() + LEAD_S
        futures = [
            self.pool.submit(
                clients.closed_loop,
                target,
                kind=kind,
                threads=in_flight // procs + (1 if k < in_flight % procs else 0),
                start_at=start_at,
                duration_s=duration_s,
                ids=ids,
                pause_s=pause_s,
            )
            for k in range(procs)
        ]
        return {"in_flight": in_flight, **latency(self.gather(futures))}

    def watch(self, target: Target, work: Path, ids: list[str]) -> dict[str, Any]:
        s = self.sizes
        out: dict[str, Any] = {"streams": s.streams}
        for label in ("without_streams", "with_streams"):
            # Tenants of their own: a stream replays its tenant's events from the start.
            prefix = "w" if label == "with_streams" else "q"
            tenants = [f"{prefix}{k:03d}" for k in range(s.streams)]
            ready = work / f"ready-{label}"
            ready.mkdir()
            groups = [tenants[k :: s.watch_procs] for k in range(s.watch_procs)]
            watchers: list[Future[Any]] = []
            if label == "with_streams":
                self.gather([self.pool.submit(clients.submit_hello, target, tenants=tenants)])
                watchers = [
                    self.pool.submit(
                        clients.watch_streams,
                        target,
                        tenants=group,
                        ready_dir=str(ready),
                        name=f"w{k}",
                        max_s=120 + s.watch_s,
                    )
                    for k, group in enumerate(groups)
                ]
                deadline = time.monotonic() + 120
                while len([f for f in ready.iterdir() if f.name.startswith("w")]) < len(groups):
                    if time.monotonic() > deadline or any(w.done() for w in watchers):
                        raise RuntimeError("the watch streams did not all open")
                    time.sleep(0.1)
            start_at = time.time() + LEAD_S
            load = [
                self.pool.submit(
                    clients.submit_round_robin,
                    target,
                    tenants=tenants[k::2],
                    size=s.watch_batch,
                    start_at=start_at,
                    duration_s=s.watch_s,
                )
                for k in range(2)
            ]
            probes = [
                self.pool.submit(
                    clients.closed_loop,
                    target,
                    kind=kind,
                    threads=2,
                    start_at=start_at,
                    duration_s=s.watch_s,
                    ids=ids,
                    pause_s=s.probe_pause_s,
                )
                for kind in ("submit", "get")
            ]
            submitted = self.gather(load)
            submit_probe, get_probe = self.gather(probes)
            part: dict[str, Any] = {
                "submitted_jobs": sum(r["jobs"] for r in submitted),
                "submitted_jobs_per_s": sum(r["jobs"] for r in submitted) / span(submitted),
                "submit": latency([submit_probe]),
                "get": latency([get_probe]),
            }
            if watchers:
                time.sleep(2.0)  # the streams drain what was submitted
                (ready / "stop").touch()
                window = (min(r["start"] for r in submitted), max(r["end"] for r in submitted))
                part.update(stream_stats(self.gather(watchers), window))
            out[label] = part
        base, streams = out["without_streams"], out["with_streams"]
        out["submit_p99_ratio"] = streams["submit"]["p99_ms"] / base["submit"]["p99_ms"]
        out["get_p99_ratio"] = streams["get"]["p99_ms"] / base["get"]["p99_ms"]
        return out

    def tick(self, work: Path) -> dict[str, Any]:
        """Single-submit p99 over ``tick_jobs`` pending jobs: loop idle, then planning."""
        s = self.sizes
        data = work / "tick"
        out: dict[str, Any] = {"pending_jobs": s.tick_jobs}
        idle = Serve(data, tick_s=IDLE_TICK_S)
        try:
            target = Target(idle.address, self.token)
            batches = math.ceil(s.tick_jobs / s.batch_size)
            start_at = time.time() + LEAD_S
            filled = self.gather(
                [
                    self.pool.submit(
                        clients.submit_batches,
                        target,
                        batches=batches,
                        size=math.ceil(s.tick_jobs / batches),
                        start_at=start_at,
                    )
                ]
            )
            ids = filled[0]["ids"]
            log(f"  {filled[0]['jobs']:,} pending; probing with the loop idle")
            out["idle"] = self.closed(
                target, "submit", s.probe_threads, s.probe_s, pause_s=s.probe_pause_s
            )
            out["idle_server"] = idle.memory()
        finally:
            idle.stop()
        busy = Serve(data, tick_s=s.tick_interval_s)
        # With replicas, the probe calls a second replica (a standby: the planning one
        # took the leader lock first) while the leader plans.
        api = Serve(data, tick_s=IDLE_TICK_S) if s.replicas > 1 else None
        out["probe_on_standby_replica"] = api is not None
        try:
            target = Target((api or busy).address, self.token)
            first = busy.wait_for_ticks(1, timeout_s=120)
            log(f"  first plan tick: {first[0]}; probing while the loop plans")
            before = len(first)
            out["planning"] = self.closed(
                target, "submit", s.probe_threads, s.probe_s, pause_s=s.probe_pause_s
            )
            ticks = busy.wait_for_ticks(before + 1, timeout_s=120)
            during = ticks[before:]
            out["ticks"] = during
            out["ticks_during_probe"] = len(during)
            out["explain"] = self.gather([self.pool.submit(clients.explain, target, ids[0])])[0]
            out["planning_server"] = busy.memory()
        finally:
            if api is not None:
                api.stop()
            busy.stop()
        out["p99_ratio"] = out["planning"]["p99_ms"] / out["idle"]["p99_ms"]
        out["p50_ratio"] = out["planning"]["p50_ms"] / out["idle"]["p50_ms"]
        return out


def stream_stats(results: Sequence[dict[str, Any]], window: tuple[float, float]) -> dict[str, Any]:
    """Delivery over the submission window: per stream, how many events and the longest
    silence; over all, events per second and the lag from commit to client."""
    arrivals = [a for r in results for a in r["arrivals"]]
    lags = [x for r in results for x in r["lags_ms"]]
    lo, hi = window
    counts = [len(a) for a in arrivals]
    gaps = []
    for times in arrivals:
        inside = [lo, *(x for x in times if lo <= x <= hi), hi]
        gaps.append(max(b - a for a, b in pairwise(inside)))
    return {
        "events": sum(counts),
        "events_per_s": sum(counts) / (hi - lo),
        "streams_receiving": sum(1 for c in counts if c > 0),
        "min_events_per_stream": min(counts) if counts else 0,
        "longest_silence_s": max(gaps) if gaps else math.nan,
        "lag_p50_ms": pct(lags, 50),
        "lag_p99_ms": pct(lags, 99),
        "stream_failures": [f for r in results for f in r["failures"]],
    }


def median_of(runs: Sequence[dict[str, Any]], key: str) -> float:
    return float(np.median([r[key] for r in runs]))


def evaluate(doc: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    if "batch" in doc:
        batch = median_of(doc["batch"], "jobs_per_s")
        out.append(
            {
                "target": f"batched submission >= {TARGET_BATCH_JOBS_S:,.0f} jobs/s",
                "measured": f"{batch:,.0f} jobs/s (median of {len(doc['batch'])})",
                "pass": batch >= TARGET_BATCH_JOBS_S,
            }
        )
    if "single" in doc:
        singles = doc["single"]
        meeting = [r for r in singles if r["p99_ms"] < TARGET_SINGLE_P99_MS]
        best = max(meeting or singles, key=lambda r: r["calls_per_s"])
        out.append(
            {
                "target": f"single SubmitJob >= {TARGET_SINGLE_CALLS_S:,.0f}/s with p99 < "
                f"{TARGET_SINGLE_P99_MS:g} ms",
                "measured": f"{best['calls_per_s']:,.0f}/s, p99 {best['p99_ms']:.1f} ms "
                f"({best['in_flight']} in flight)",
                "pass": best["calls_per_s"] >= TARGET_SINGLE_CALLS_S
                and best["p99_ms"] < TARGET_SINGLE_P99_MS,
            }
        )
    if "tick" in doc:
        tick = doc["tick"]
        out.append(
            {
                "target": f"plan tick over {tick['pending_jobs']:,} pending: single-submit p99 "
                f"within {TARGET_TICK_RATIO:g}x of the idle loop's",
                "measured": f"{tick['planning']['p99_ms']:.1f} / {tick['idle']['p99_ms']:.1f} ms"
                f" = {tick['p99_ratio']:.2f}x ({tick['ticks_during_probe']} ticks"
                + ("; API on a standby replica" if tick.get("probe_on_standby_replica") else "")
                + ")",
                "pass": tick["p99_ratio"] <= TARGET_TICK_RATIO and tick["ticks_during_probe"] > 0,
            }
        )
    if "watch" in doc:
        watch = doc["watch"]["with_streams"]
        out.append(
            {
                "target": f"{doc['watch']['streams']} WatchJobs streams all keep receiving",
                "measured": f"{watch['streams_receiving']} receiving, longest silence "
                f"{watch['longest_silence_s']:.2f} s",
                "pass": watch["streams_receiving"] == doc["watch"]["streams"]
                and not watch["stream_failures"],
            }
        )
    return out


def _rate_row(name: str, r: dict[str, Any], rate: str) -> tuple[str, ...]:
    if "server_cpu_ms_per_1000_jobs" in r:
        cpu = f"{r['server_cpu_ms_per_1000_jobs']:.0f} / 1k jobs"
    elif "server_cpu_ms_per_call" in r:
        cpu = f"{r['server_cpu_ms_per_call']:.2f}"
    else:
        cpu = ""
    return (name, rate, f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}", cpu)


def rows(doc: dict[str, Any]) -> list[tuple[str, ...]]:
    out: list[tuple[str, ...]] = []
    s = doc["sizes"]
    for i, r in enumerate(doc.get("batch", ()), 1):
        name = f"SubmitJobs x{s['batch_size']:,}, {s['batch_procs']} processes (run {i})"
        out.append(_rate_row(name, r, f"{r['jobs_per_s']:,.0f} jobs/s"))
    for r in doc.get("single", ()):
        name = f"SubmitJob, {r['in_flight']} in flight"
        out.append(_rate_row(name, r, f"{r['calls_per_s']:,.0f}/s"))
    for kind, name in (("get", "GetJob"), ("list", "ListJobs (page of 100)")):
        if kind in doc:
            r = doc[kind]
            out.append(
                _rate_row(f"{name}, {r['in_flight']} in flight", r, f"{r['calls_per_s']:,.0f}/s")
            )
    if "watch" in doc:
        w = doc["watch"]
        ws = w["with_streams"]
        out.append(
            (
                f"WatchJobs: {w['streams']} streams, delivery lag (commit to client)",
                f"{ws['events_per_s']:,.0f} events/s",
                f"{ws['lag_p50_ms']:.1f}",
                f"{ws['lag_p99_ms']:.1f}",
                "",
            )
        )
        for kind, name in (("submit", "SubmitJob"), ("get", "GetJob")):
            for label, text in (("without_streams", "without"), ("with_streams", "with")):
                r = w[label][kind]
                name_ = (
                    f"{name} beside {w[label]['submitted_jobs_per_s']:,.0f} jobs/s of "
                    f"submissions, {text} the streams"
                )
                out.append(_rate_row(name_, r, f"{r['calls_per_s']:,.0f}/s"))
    if "tick" in doc:
        t = doc["tick"]
        for label, text in (("idle", "control loop idle"), ("planning", "control loop planning")):
            r = t[label]
            name = f"SubmitJob over {t['pending_jobs']:,} pending, {text}"
            out.append(_rate_row(name, r, f"{r['calls_per_s']:,.0f}/s"))
    return out


def print_report(doc: dict[str, Any], markdown: bool) -> None:
    header = ("what", "rate", "p50 ms", "p99 ms", "server CPU ms")
    body = rows(doc)
    if markdown:
        print("| " + " | ".join(header) + " |")
        print("|---|---:|---:|---:|---:|")
        for line in body:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(x[i]) for x in (header, *body)) for i in range(len(header))]
        for line in (header, *body):
            cells = zip(line, widths, strict=True)
            print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(cells)))
    print()
    if "tick" in doc:
        t = doc["tick"]
        ticks = t["ticks"]
        print(
            f"Plan ticks during the probe: {len(ticks)}, over "
            f"{max((x['pending'] for x in ticks), default=0):,.0f} pending jobs; build / solve "
            f"/ persist mean {np.mean([x['build'] for x in ticks]):.2f} / "
            f"{np.mean([x['solve'] for x in ticks]):.2f} / "
            f"{np.mean([x['persist'] for x in ticks]):.2f} s. ExplainJob of one: "
            f"{t['explain']['reason'] or t['explain']['note']!r}. Planning server peak RSS "
            f"{t['planning_server']['peak_rss_mib']:.0f} MiB."
        )
    if "memory" in doc:
        mem = doc["memory"]["api"]
        n = doc["sizes"]["replicas"]
        served = f"{n} serve replicas on one SQLite store" if n > 1 else "one serve process"
        print(
            f"API phases: {served}. "
            f"Server memory (RSS) over the API phases: peak {mem['peak_rss_mib']:.0f} MiB, end "
            f"{mem['rss_mib']:.0f} MiB ({doc['stored_jobs']:,} jobs stored)."
        )
    la, lb = doc["machine"]["load_average"], doc["load_average_after"]
    print(f"Load average before {la[0]:.2f}, after {lb[0]:.2f} ({doc['machine']['cores']} cores).")
    print()
    if markdown:
        print("| target | measured | |\n|---|---|---|")
    for x in doc["targets"]:
        verdict = "PASS" if x["pass"] else "MISS"
        if markdown:
            print(f"| {x['target']} | {x['measured']} | {verdict} |")
        else:
            print(f"{verdict}  {x['target']}: {x['measured']}")


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="a smoke run (well under a minute)")
    ap.add_argument("--repeat", type=int, default=None, help="repetitions of the batch phase")
    ap.add_argument("--batch-size", type=int, default=None, help="specs per SubmitJobs")
    ap.add_argument("--streams", type=int, default=None, help="WatchJobs streams")
    ap.add_argument("--tick-jobs", type=int, default=None, help="pending jobs to plan over")
    ap.add_argument(
        "--token", default="", help="sent as 'authorization: Bearer TOKEN' on every call"
    )
    ap.add_argument(
        "--replicas",
        type=int,
        default=None,
        help="API phases against N serve replicas sharing the SQLite store (default 1)",
    )
    ap.add_argument("--only", choices=PARTS, default=None, help="run one part only")
    ap.add_argument("--work-dir", type=Path, default=None, help="keep the servers' data here")
    ap.add_argument("--out", type=Path, default=HERE / "results.json", help="results JSON")
    ap.add_argument("--markdown", action="store_true", help="print the tables as Markdown")
    return ap.parse_args(argv)


def sizes_from(args: argparse.Namespace) -> Sizes:
    sizes = QUICK if args.quick else FULL
    for name, value in (
        ("repeat", args.repeat),
        ("batch_size", args.batch_size),
        ("streams", args.streams),
        ("tick_jobs", args.tick_jobs),
        ("replicas", args.replicas),
    ):
        if value is not None:
            if value < 1:
                raise SystemExit(f"--{name.replace('_', '-')} must be at least 1")
            sizes = replace(sizes, **{name: value})
    return sizes


def run(sizes: Sizes, token: str, work: Path, parts: Sequence[str] = PARTS) -> dict[str, Any]:
    doc: dict[str, Any] = {"machine": machine(), "sizes": asdict(sizes)}
    with ProcessPoolExecutor(POOL_PROCESSES, mp_context=mp.get_context("spawn")) as pool:
        list(pool.map(clients.warm_up, [0.5] * POOL_PROCESSES))
        bench = Bench(pool, sizes, token)
        if "api" in parts:
            doc.update(api_phases(bench, work))
        if "tick" in parts:
            log(f"plan tick over {sizes.tick_jobs:,} pending jobs")
            doc["tick"] = bench.tick(work)
    doc["load_average_after"] = os.getloadavg()
    doc["targets"] = evaluate(doc)
    return doc


def api_phases(bench: Bench, work: Path) -> dict[str, Any]:
    sizes = bench.sizes
    doc: dict[str, Any] = {}
    serve = Replicas([Serve(work / "api", tick_s=IDLE_TICK_S) for _ in range(sizes.replicas)])
    try:
        target = Target(serve.address, bench.token)
        log(f"serving on {serve.address} (pids {serve.pids})")
        doc["batch"] = []
        for i in range(sizes.repeat):
            r = metered(serve, bench.batches, target)
            log(f"  SubmitJobs run {i + 1}: {r['jobs_per_s']:,.0f} jobs/s")
            doc["batch"].append(r)
        ids = [i for r in doc["batch"] for i in r.pop("ids")]
        doc["single"] = []
        for level in sizes.levels:
            r = metered(serve, bench.closed, target, "submit", level, sizes.duration_s)
            log(f"  SubmitJob x{level}: {r['calls_per_s']:,.0f}/s p99 {r['p99_ms']:.1f} ms")
            doc["single"].append(r)
        for kind in ("get", "list"):
            doc[kind] = metered(
                serve, bench.closed, target, kind, sizes.read_threads, sizes.duration_s, ids=ids
            )
            log(f"  {kind}: {doc[kind]['calls_per_s']:,.0f}/s")
        log(f"  WatchJobs with {sizes.streams} streams")
        doc["watch"] = bench.watch(target, work, ids)
        doc["stored_jobs"] = count_jobs(work / "api")
        doc["memory"] = {"api": serve.memory()}
    finally:
        serve.stop()
    return doc


def metered(
    serve: Replicas, phase: Callable[..., dict[str, Any]], *args: Any, **kwargs: Any
) -> dict[str, Any]:
    """``phase(...)``'s result with the server's CPU time per call (and per 1,000 jobs):
    steadier than rates on a shared machine."""
    before = serve.cpu_s()
    r = phase(*args, **kwargs)
    cpu = serve.cpu_s() - before
    r["server_cpu_s"] = cpu
    r["server_cpu_ms_per_call"] = 1e3 * cpu / max(1, r["calls"])
    if "jobs" in r:
        r["server_cpu_ms_per_1000_jobs"] = 1e6 * cpu / max(1, r["jobs"])
    return r


def count_jobs(data_dir: Path) -> int:
    """Jobs in the server's store (read with sqlite3: the benchmark has no store code)."""
    conn = sqlite3.connect(data_dir / "skybatch.db")
    try:
        return int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])
    finally:
        conn.close()


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = sizes_from(args)
    parts = (args.only,) if args.only else PARTS
    started = time.perf_counter()
    if args.work_dir is not None:
        args.work_dir.mkdir(parents=True, exist_ok=True)
        doc = run(sizes, args.token, args.work_dir, parts)
    else:
        with tempfile.TemporaryDirectory(prefix="skybatch-service-bench-") as tmp:
            doc = run(sizes, args.token, Path(tmp), parts)
    doc["wall_s"] = time.perf_counter() - started
    print_report(doc, args.markdown)
    args.out.write_text(json.dumps(doc, indent=2, default=str) + "\n", encoding="utf-8")
    log(f"wrote {args.out} ({doc['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
