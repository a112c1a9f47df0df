"""``skybatch quota``: admin caps on the clouds' quota pools (list, set, clear).

Over gRPC with an admin token (``--token`` / ``SKYBATCH_TOKEN``). A cap lowers what the
planner may hold in a pool from its next plan on; it never raises a pool above the
cloud's limit.
"""

from __future__ import annotations

import argparse

from rich.table import Table

from scheduler.api.admin_client import AdminClient
from scheduler.cli.commands import common, server_address, tenant
from scheduler.cli.render import make_console
from scheduler.errors import InvalidArgument
from scheduler.quotas import QuotaStatus, check_limit, check_note, check_pool_id

console = make_console()


def _client(args: argparse.Namespace) -> AdminClient:
    return AdminClient(server_address(args), tenant=tenant(args))


def _units(x: float | None) -> str:
    return "-" if x is None else f"{x:g}"


def _print(statuses: list[QuotaStatus]) -> None:
    t = Table()
    for col in ("pool", "cloud", "learned", "cap", "effective", "in use", "cap set (UTC)", "by"):
        right = col in ("cloud", "learned", "cap", "effective", "in use")
        t.add_column(col, justify="right" if right else "left")
    for s in statuses:
        lim, cap = s.limits, s.cap
        effective = _units(lim.effective) if lim.reported or lim.cap is not None else "-"
        t.add_row(
            lim.pool,
            _units(lim.cloud),
            _units(lim.learned),
            _units(lim.cap),
            effective,
            _units(s.in_use),
            f"{cap.set_at:%Y-%m-%d %H:%M:%S}" if cap is not None else "",
            cap.set_by if cap is not None else "",
        )
    console.print(t)
    for s in statuses:
        if s.cap is not None and s.cap.note:
            console.print(f"  {s.limits.pool}: {s.cap.note}")


def _limit(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidArgument("LIMIT", f"{text!r} is not a number") from None
    return check_limit(value, "LIMIT")


def list_quotas(args: argparse.Namespace) -> int:
    with _client(args) as c:
        statuses = c.quotas()
    _print(statuses)
    return 0


def set_cap(args: argparse.Namespace) -> int:
    pool = check_pool_id(args.pool, "POOL")
    limit = _limit(args.limit)
    note = check_note(args.note, "--note")
    with _client(args) as c:
        status = c.set_quota_cap(pool, limit, note=note)
    _print([status])
    cloud = status.limits.cloud
    if cloud is not None and limit > cloud:
        console.print(
            f"note: the cap is above the cloud's limit ({cloud:g}); the planner keeps to the"
            " cloud's"
        )
    return 0


def clear_cap(args: argparse.Namespace) -> int:
    pool = check_pool_id(args.pool, "POOL")
    with _client(args) as c:
        status = c.clear_quota_cap(pool)
    console.print(f"cleared the cap on {pool}")
    if status.limits.reported:
        _print([status])
    return 0


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("quota", help="quota pools and admin caps on them: list, set, clear")
    qsub = p.add_subparsers(dest="quota_command", required=True)

    c = qsub.add_parser("list", help="every pool: cloud limit, learned, cap, effective, in use")
    common(c)
    c.set_defaults(func=list_quotas)

    c = qsub.add_parser("set", help="cap POOL at LIMIT units (vCPUs or GPUs); replaces a cap")
    c.add_argument("pool", metavar="POOL", help="e.g. local/us-central1/vcpu (see `quota list`)")
    c.add_argument("limit", metavar="LIMIT", help="units, >= 0 (0 = launch nothing there)")
    c.add_argument("--note", default="", help="why, shown in `quota list`")
    common(c)
    c.set_defaults(func=set_cap)

    c = qsub.add_parser("clear", help="remove the cap on POOL (idempotent)")
    c.add_argument("pool", metavar="POOL")
    common(c)
    c.set_defaults(func=clear_cap)
