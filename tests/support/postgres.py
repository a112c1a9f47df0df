"""A private PostgreSQL server for the test session: ``initdb`` into a temp dir,
``pg_ctl start`` on a free localhost port, one fresh database per test, stopped at the end.

Debian's server binaries (``/usr/lib/postgresql/<version>/bin``; ``make test`` installs
them through ``scripts/system-packages.sh``) are required: without them this fails loudly
rather than skipping. ``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` OS user (``runuser``) from a directory that user owns.
"""

from __future__ import annotations

import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

SERVER_USER = "postgres"


def find_bin_dir() -> Path:
    """The newest installed server's bin dir (the ``SKYBATCH_PG_BIN`` dir when set)."""
    env = os.environ.get("SKYBATCH_PG_BIN")
    candidates = (
        [Path(env)]
        if env
        else sorted(
            Path("/usr/lib/postgresql").glob("*/bin"),
            key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
            reverse=True,
        )
    )
    for bin_dir in candidates:
        if (bin_dir / "initdb").is_file() and (bin_dir / "pg_ctl").is_file():
            return bin_dir
    raise RuntimeError(
        "PostgreSQL server binaries not found (looked for initdb and pg_ctl in "
        f"{env or '/usr/lib/postgresql/*/bin'}): install Debian's 'postgresql' package "
        "(scripts/system-packages.sh, run by 'make test') or set SKYBATCH_PG_BIN"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    bin_dir: Path
    root: Path
    port: int
    _names: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        """A SQLAlchemy URL (psycopg 3) for ``database`` as the superuser."""
        return f"postgresql+psycopg://{SERVER_USER}@127.0.0.1:{self.port}/{database}"

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(
            f"host=127.0.0.1 port={self.port} user={SERVER_USER} dbname=postgres",
            autocommit=True,
        )

    def create_database(self, prefix: str = "t") -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"{prefix}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        with self.admin() as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _as_server_user(argv: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return argv
    return ["runuser", "-u", SERVER_USER, "--", *argv]


def _run(argv: list[str], what: str) -> None:
    proc = subprocess.run(_as_server_user(argv), capture_output=True, text=True, timeout=120)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


@contextmanager
def start_postgres() -> Iterator[PostgresServer]:
    """A running server, stopped (fast) and deleted on exit."""
    bin_dir = find_bin_dir()
    # Not under pytest's tmp dir: its parents are private to root, and the server runs
    # as another user.
    root = Path(tempfile.mkdtemp(prefix="skybatch-pg-"))
    if os.geteuid() == 0:
        pw = pwd.getpwnam(SERVER_USER)
        os.chown(root, pw.pw_uid, pw.pw_gid)
    server = PostgresServer(bin_dir=bin_dir, root=root, port=free_port())
    try:
        _run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(server.data_dir),
                "-U",
                SERVER_USER,
                "--auth=trust",
                "--encoding=UTF8",
                "--no-sync",
            ],
            "initdb",
        )
        options = " ".join(
            [
                "-h 127.0.0.1",
                f"-p {server.port}",
                f"-k {server.root}",  # the unix socket stays in our dir
                "-c fsync=off",
                "-c synchronous_commit=off",
                "-c full_page_writes=off",
                "-c max_connections=300",
            ]
        )
        _run(
            [
                str(bin_dir / "pg_ctl"),
                "-D",
                str(server.data_dir),
                "-l",
                str(server.root / "server.log"),
                "-o",
                options,
                "-w",
                "-t",
                "60",
                "start",
            ],
            "pg_ctl start",
        )
        yield server
    finally:
        if (server.data_dir / "postmaster.pid").exists():
            _run(
                [str(bin_dir / "pg_ctl"), "-D", str(server.data_dir), "-m", "immediate", "stop"],
                "pg_ctl stop",
            )
        shutil.rmtree(root, ignore_errors=True)
