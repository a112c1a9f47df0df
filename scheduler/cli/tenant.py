"""``skybatch tenant``: tenants, their bearer tokens and budgets.

Over gRPC with an admin token (``--token`` / ``SKYBATCH_TOKEN``); except the first
admin, which ``skybatch tenant create NAME --admin --db-url URL`` (or ``--data-dir``)
writes straight into the store on the server's host, printing its first token.
"""

from __future__ import annotations

import argparse
from datetime import datetime
from pathlib import Path

from rich.table import Table

from scheduler.api.admin_client import AdminClient
from scheduler.cli.commands import common, server_address, tenant
from scheduler.cli.render import make_console
from scheduler.config import ServeConfig
from scheduler.domain import utcnow
from scheduler.errors import InvalidArgument
from scheduler.jobyaml import parse_duration
from scheduler.store import Database, TenantStore
from scheduler.tenancy import (
    BudgetStatus,
    BudgetWindow,
    Role,
    TokenInfo,
    check_tenant_name,
    check_token_id,
    parse_amount,
    parse_window,
)

console = make_console()
err = make_console(stderr=True)


def _client(args: argparse.Namespace) -> AdminClient:
    return AdminClient(server_address(args), tenant=tenant(args))


def _when(dt: datetime | None) -> str:
    return f"{dt:%Y-%m-%d %H:%M:%S}" if dt is not None else "-"


def _print_token(info: TokenInfo, token: str) -> None:
    console.print(f"token {info.id} for tenant {info.tenant} (shown once, keep it secret):")
    # Plain print: the token alone on its line, for scripts (`| tail -1`).
    print(token, flush=True)


# -- tenants ---------------------------------------------------------------------------


def create(args: argparse.Namespace) -> int:
    name = check_tenant_name(args.name, "NAME")
    role = Role.ADMIN if args.admin else Role.USER
    if args.db_url or args.data_dir:
        return _bootstrap(args, name, role)
    with _client(args) as c:
        t = c.create_tenant(name, role=role)
    console.print(f"created tenant {t.name} ({t.role.value})")
    return 0


def _bootstrap(args: argparse.Namespace, name: str, role: Role) -> int:
    """Straight into the store (no server, no token needed): the way to the first admin."""
    url = args.db_url or ServeConfig(data_dir=args.data_dir).database_url
    db = Database(url)
    try:
        store = TenantStore(db)
        now = utcnow()
        store.create_tenant(name, role, now)
        info, token = store.create_token(name, now, description="created with the tenant")
    finally:
        db.close()
    console.print(f"created tenant {name} ({role.value}) in {url}")
    _print_token(info, token)
    return 0


def list_tenants(args: argparse.Namespace) -> int:
    with _client(args) as c:
        tenants = c.tenants()
    t = Table()
    for col in ("tenant", "role", "created (UTC)", "disabled"):
        t.add_column(col)
    for x in tenants:
        t.add_row(x.name, x.role.value, _when(x.created_at), "yes" if x.disabled else "")
    console.print(t)
    return 0


# -- tokens ----------------------------------------------------------------------------


def token_create(args: argparse.Namespace) -> int:
    name = check_tenant_name(args.tenant_name, "TENANT")
    expires = None
    if args.expires_in:
        expires = utcnow() + parse_duration("--expires-in", args.expires_in)
    with _client(args) as c:
        info, token = c.create_token(name, description=args.description, expires_at=expires)
    _print_token(info, token)
    return 0


def token_list(args: argparse.Namespace) -> int:
    name = check_tenant_name(args.tenant_name, "TENANT") if args.tenant_name else ""
    with _client(args) as c:
        tokens = c.tokens(name)
    now = utcnow()
    t = Table()
    for col in ("id", "tenant", "created (UTC)", "expires", "state", "description"):
        t.add_column(col)
    for x in tokens:
        state = "revoked" if x.revoked_at else "expired" if not x.usable(now) else "active"
        t.add_row(x.id, x.tenant, _when(x.created_at), _when(x.expires_at), state, x.description)
    console.print(t)
    return 0


def token_revoke(args: argparse.Namespace) -> int:
    token_id = check_token_id(args.token_id, "TOKEN_ID")
    with _client(args) as c:
        info = c.revoke_token(token_id)
    console.print(f"revoked token {info.id} of tenant {info.tenant} at {_when(info.revoked_at)}")
    return 0


# -- budgets ---------------------------------------------------------------------------


def _instant(text: str, field: str) -> datetime:
    try:
        dt = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidArgument(field, f"{text!r} is not an ISO 8601 time") from None
    if dt.tzinfo is None:
        raise InvalidArgument(field, "needs a timezone (e.g. 2026-12-01T00:00:00Z)")
    return dt


def budget_set(args: argparse.Namespace) -> int:
    name = check_tenant_name(args.tenant_name, "TENANT")
    amount = parse_amount(args.amount, "AMOUNT")
    window = parse_window(args.window, "--window")
    period = None
    if window is BudgetWindow.PERIOD:
        if not (args.start and args.end):
            raise InvalidArgument("--from", "--window period needs --from and --to")
        period = (_instant(args.start, "--from"), _instant(args.end, "--to"))
    elif args.start or args.end:
        raise InvalidArgument("--from", "only with --window period")
    with _client(args) as c:
        status = c.set_budget(name, amount, window, period=period)
    _print_budgets([status])
    return 0


def budget_show(args: argparse.Namespace) -> int:
    name = check_tenant_name(args.tenant_name, "TENANT") if args.tenant_name else ""
    with _client(args) as c:
        statuses = c.budgets(name)
    _print_budgets(statuses)
    return 0


def _print_budgets(statuses: list[BudgetStatus]) -> None:
    t = Table()
    for col in ("tenant", "window", "from (UTC)", "to (UTC)", "budget $", "spent $", "left $"):
        t.add_column(col, justify="right" if col.endswith("$") else "left")
    for s in statuses:
        b = s.budget
        t.add_row(
            b.tenant,
            b.window.value,
            _when(s.window_start),
            _when(s.window_end),
            f"{b.amount:.2f}",
            f"{s.spent:.2f}",
            f"{max(b.amount - s.spent, 0):.2f}",
        )
    console.print(t)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("tenant", help="tenants, their bearer tokens and budgets (admin)")
    tsub = p.add_subparsers(dest="tenant_command", required=True)

    c = tsub.add_parser("create", help="create a tenant (--db-url/--data-dir: bootstrap)")
    c.add_argument("name", metavar="NAME")
    c.add_argument("--admin", action="store_true", help="role admin (default: user)")
    c.add_argument(
        "--db-url",
        default="",
        help="write straight into this store (no server, no token) and print a first token",
    )
    c.add_argument("--data-dir", type=Path, default=None, help="the same, by the data dir")
    common(c)
    c.set_defaults(func=create)

    c = tsub.add_parser("list", help="list tenants")
    common(c)
    c.set_defaults(func=list_tenants)

    tok = tsub.add_parser("token", help="bearer tokens: create, list, revoke")
    toks = tok.add_subparsers(dest="token_command", required=True)
    c = toks.add_parser("create", help="a new token for TENANT (printed once)")
    c.add_argument("tenant_name", metavar="TENANT")
    c.add_argument("--description", default="")
    c.add_argument("--expires-in", default="", metavar="DURATION", help="e.g. 90d, 12h")
    common(c)
    c.set_defaults(func=token_create)
    c = toks.add_parser("list", help="tokens (never their secrets)")
    c.add_argument("tenant_name", nargs="?", default="", metavar="TENANT")
    common(c)
    c.set_defaults(func=token_list)
    c = toks.add_parser("revoke", help="revoke a token (within the server's token cache time)")
    c.add_argument("token_id", metavar="TOKEN_ID")
    common(c)
    c.set_defaults(func=token_revoke)

    bud = tsub.add_parser("budget", help="budgets the planner enforces: set, show")
    buds = bud.add_subparsers(dest="budget_command", required=True)
    c = buds.add_parser("set", help="TENANT may spend AMOUNT dollars per window")
    c.add_argument("tenant_name", metavar="TENANT")
    c.add_argument("amount", metavar="AMOUNT", help="dollars, e.g. 250 or 99.50")
    c.add_argument("--window", default="month", help="month (default), week, day or period")
    c.add_argument("--from", dest="start", default="", help="with --window period: ISO start")
    c.add_argument("--to", dest="end", default="", help="with --window period: ISO end")
    common(c)
    c.set_defaults(func=budget_set)
    c = buds.add_parser("show", help="budgets and what this window has spent")
    c.add_argument("tenant_name", nargs="?", default="", metavar="TENANT")
    common(c)
    c.set_defaults(func=budget_show)
