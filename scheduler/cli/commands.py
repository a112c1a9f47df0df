"""``skybatch submit | jobs | get | explain | cancel | watch``: the client-side commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from rich.table import Table

from scheduler.api.client import SkybatchClient
from scheduler.cli.live import watch_live
from scheduler.cli.render import (
    event_line,
    explanation_parts,
    jobs_table,
    make_console,
    state_text,
)
from scheduler.config import DEFAULT_BIND
from scheduler.domain import JobState, utcnow
from scheduler.errors import InvalidArgument
from scheduler.jobyaml import load_jobs

console = make_console()


def client(args: argparse.Namespace) -> SkybatchClient:
    return SkybatchClient(server_address(args), tenant=tenant(args))


def submit(args: argparse.Namespace) -> int:
    text = sys.stdin.read() if str(args.file) == "-" else _read(args.file)
    specs = load_jobs(text, now=utcnow())
    with client(args) as c:
        results = c.submit(specs)
    for job, created in results:
        verb = "submitted" if created else "exists   "
        console.print(f"{verb} {job.id}  {job.spec.name}")
    return 0


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise InvalidArgument("file", f"{path}: {exc.strerror}") from None


def _states(values: list[str]) -> list[JobState]:
    try:
        return [JobState(v.upper()) for v in values]
    except ValueError:
        known = ", ".join(s.value.lower() for s in JobState)
        raise InvalidArgument("--state", f"unknown state (known: {known})") from None


def _labels(values: list[str]) -> dict[str, str]:
    out = {}
    for v in values:
        key, sep, value = v.partition("=")
        if not sep or not key:
            raise InvalidArgument("--label", f"{v!r} is not KEY=VALUE")
        out[key] = value
    return out


def jobs(args: argparse.Namespace) -> int:
    with client(args) as c:
        found, _ = c.list_page(
            states=_states(args.state), labels=_labels(args.label), page_size=args.limit
        )
    console.print(jobs_table(found, utcnow()))
    return 0


def get(args: argparse.Namespace) -> int:
    with client(args) as c:
        job = c.get(args.job_id)
    s = job.spec
    info = Table.grid(padding=(0, 2))
    info.add_row("id", job.id)
    info.add_row("name", s.name)
    info.add_row("tenant", job.tenant)
    info.add_row("state", state_text(job.state))
    info.add_row("reason", job.state_reason)
    info.add_row("command", " ".join(s.command))
    info.add_row(
        "resources",
        f"{s.resources.vcpus:g} vCPU, {s.resources.memory_gib:g} GiB"
        + (f", {s.resources.gpu_count}x {s.resources.gpu_type}" if s.resources.gpu_count else ""),
    )
    info.add_row("spot allowed", str(s.spot_allowed))
    info.add_row("deadline", s.deadline.isoformat())
    info.add_row(
        "progress",
        f"{job.progress:.0%} (checkpoint {job.checkpoint_seq} at {job.checkpoint_progress:.0%})",
    )
    info.add_row("preemptions", str(job.preemptions))
    info.add_row("cost", f"${job.cost}")
    console.print(info)
    t = Table(title="attempts")
    for col in ("#", "id", "placement", "node", "state", "cost $"):
        t.add_column(col)
    for a in job.attempts:
        p = a.placement
        t.add_row(
            str(a.number),
            a.id,
            f"{p.region} {p.instance_type} {p.market} ${p.price_per_hour}/h",
            a.node_id,
            a.state.value,
            f"{a.cost:.6f}",
        )
    console.print(t)
    return 0


def explain(args: argparse.Namespace) -> int:
    n: int | None = args.alternatives
    if n is not None and not 0 <= n <= 100:
        raise InvalidArgument("--alternatives", "must be 0 to 100")
    with client(args) as c:
        e = c.explain_job(args.job_id, alternatives=n)
    for part in explanation_parts(e):
        console.print(part)
    return 0


def cancel(args: argparse.Namespace) -> int:
    with client(args) as c:
        job = c.cancel(args.job_id, args.reason)
    console.print(f"{job.id}: ", state_text(job.state))
    return 0


def watch(args: argparse.Namespace) -> int:
    with client(args) as c:
        if args.events:
            for e in c.watch(cursor=args.cursor, job_ids=args.job_ids):
                console.print(event_line(e), f"[dim]cursor={e.seq}[/dim]")
            return 0
        watch_live(c, console, job_ids=args.job_ids)
    return 0


def common(p: argparse.ArgumentParser) -> None:
    """The options every client command takes: which server, as which tenant."""
    p.add_argument("--server", default="", help=f"host:port (SKYBATCH_SERVER, {DEFAULT_BIND})")
    p.add_argument("--tenant", default="", help="tenant (SKYBATCH_TENANT, 'default')")


def server_address(args: argparse.Namespace) -> str:
    return str(args.server or os.environ.get("SKYBATCH_SERVER", DEFAULT_BIND))


def tenant(args: argparse.Namespace) -> str:
    return str(args.tenant or os.environ.get("SKYBATCH_TENANT", ""))


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("submit", help="submit the job(s) of a YAML file ('-' = stdin)")
    p.add_argument("file", type=Path)
    common(p)
    p.set_defaults(func=submit)

    p = sub.add_parser("jobs", help="list jobs")
    p.add_argument("--state", action="append", default=[], help="filter (repeatable)")
    p.add_argument("--label", action="append", default=[], help="KEY=VALUE (repeatable)")
    p.add_argument("--limit", type=int, default=100)
    common(p)
    p.set_defaults(func=jobs)

    p = sub.add_parser("get", help="show one job and its attempts")
    p.add_argument("job_id")
    common(p)
    p.set_defaults(func=get)

    p = sub.add_parser(
        "explain", help="why a waiting job got its placement, and what the alternatives lost on"
    )
    p.add_argument("job_id")
    p.add_argument(
        "--alternatives", type=int, default=None, metavar="N", help="how many (default 3)"
    )
    common(p)
    p.set_defaults(func=explain)

    p = sub.add_parser("cancel", help="cancel a job (terminates its node)")
    p.add_argument("job_id")
    p.add_argument("--reason", default="")
    common(p)
    p.set_defaults(func=cancel)

    p = sub.add_parser("watch", help="live view of jobs until they finish (Ctrl-C to leave)")
    p.add_argument("job_ids", nargs="*")
    p.add_argument("--events", action="store_true", help="plain event stream, forever")
    p.add_argument("--cursor", default="", help="with --events: resume after this cursor")
    common(p)
    p.set_defaults(func=watch)
