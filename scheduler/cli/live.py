"""The live progress view: a job table refreshed in place, with events scrolling above."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

import grpc
from rich.console import Console
from rich.live import Live

from scheduler.api.client import SkybatchClient
from scheduler.cli.render import event_line, jobs_table
from scheduler.domain import JobView, utcnow


def _fetch(c: SkybatchClient, job_ids: Sequence[str]) -> list[JobView]:
    if job_ids:
        return [c.get(j) for j in job_ids]
    return c.list_all()


def watch_live(
    c: SkybatchClient,
    console: Console,
    *,
    job_ids: Sequence[str] = (),
    timeout_s: float | None = None,
    refresh_s: float = 0.5,
) -> list[JobView]:
    """Show jobs until all are finished (or ``timeout_s``); return their last state."""
    names: dict[str, str] = {}
    stop = threading.Event()

    def events() -> None:
        try:
            for e in c.watch(job_ids=job_ids):
                if stop.is_set():
                    return
                console.print(event_line(e, names))
        except grpc.RpcError:
            return  # the stream ends when we close or the server stops

    jobs = _fetch(c, job_ids)
    names.update({j.id: j.spec.name for j in jobs})
    thread = threading.Thread(target=events, daemon=True)
    thread.start()
    started = time.monotonic()
    with Live(jobs_table(jobs, utcnow()), console=console, refresh_per_second=4) as live:
        while True:
            jobs = _fetch(c, job_ids)
            names.update({j.id: j.spec.name for j in jobs})
            live.update(jobs_table(jobs, utcnow()))
            if jobs and all(j.state.terminal for j in jobs):
                break
            if timeout_s is not None and time.monotonic() - started > timeout_s:
                break
            time.sleep(refresh_s)
    stop.set()
    console.print()
    return jobs
