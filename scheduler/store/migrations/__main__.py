"""Run the migrations by hand (``skybatch serve`` runs them itself on start).

    python -m scheduler.store.migrations --db-url URL upgrade [REVISION]
    python -m scheduler.store.migrations --db-url URL current
    python -m scheduler.store.migrations history
    python -m scheduler.store.migrations --db-url URL revision -m NAME [--autogenerate]

``--db-url`` defaults to ``SKYBATCH_DB_URL``. ``revision --autogenerate`` drafts a
revision from the difference between the store (at the newest revision) and the code's
tables; review it and write its operations out before committing it.
"""

from __future__ import annotations

import argparse
import os
import sys

from alembic import command
from sqlalchemy import Engine

from scheduler.store.engine import WRITE_OPTION, make_engine
from scheduler.store.migrations import runner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scheduler.store.migrations")
    parser.add_argument("--db-url", default=os.environ.get("SKYBATCH_DB_URL", ""))
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("upgrade", help="bring the store to REVISION (default: head)")
    up.add_argument("revision", nargs="?", default="head")
    sub.add_parser("current", help="print the store's revision and the newest one")
    sub.add_parser("history", help="list the revisions")
    rev = sub.add_parser("revision", help="draft a new revision file")
    rev.add_argument("-m", "--message", required=True)
    rev.add_argument("--autogenerate", action="store_true")
    args = parser.parse_args(argv)

    if args.command == "history":
        command.history(runner.alembic_config())
        return 0
    if not args.db_url:
        parser.error("--db-url (or SKYBATCH_DB_URL) is required")
    engine = make_engine(args.db_url, migrate=False)
    try:
        return _run(engine, args)
    finally:
        engine.dispose()


def _run(engine: Engine, args: argparse.Namespace) -> int:
    with engine.execution_options(**{WRITE_OPTION: True}).connect() as conn, conn.begin():
        if args.command == "upgrade":
            runner.upgrade(conn, args.revision)
            print(f"at {runner.current(conn)}")
        elif args.command == "current":
            print(f"store at {runner.current(conn)}; newest {runner.head()}")
        else:
            command.revision(
                runner.alembic_config(conn),
                message=args.message,
                autogenerate=args.autogenerate,
                rev_id=_next_id(args.message),
            )
    return 0


def _next_id(message: str) -> str:
    number = int(runner.head().split("_", 1)[0]) + 1
    return f"{number:04d}_{message.strip().replace(' ', '_')}"


if __name__ == "__main__":
    sys.exit(main())
