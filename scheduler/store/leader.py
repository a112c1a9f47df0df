"""The leader lock: at most one holder among the replicas that share a store.

- PostgreSQL: a session-level advisory lock (``pg_try_advisory_lock``) on a connection
  of its own. The lock lives exactly as long as that session: when the holder dies, the
  server sees its socket close, ends the session and the lock is free. ``held()`` asks
  the server on that connection, so a holder cut off from the database finds out at its
  next check (keepalives and a statement timeout bound how long that takes).
- SQLite: an exclusive ``flock`` on ``<database>.leader`` next to the database file, so
  two replicas on one file (also two in one process) cannot both lead; the kernel drops
  it when the holder dies. An in-memory database has one process: its lock always holds.

No method raises on a database error: a lock that cannot be checked is not held.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
from pathlib import Path
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from scheduler.store.engine import is_sqlite

log = logging.getLogger(__name__)

#: The advisory lock key replicas compete for (arbitrary, fixed: "skybatch-leader").
LEADER_LOCK_KEY = 0x736B7962_6C656164


class LeaderLock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if it is free (never blocks); True when this process holds it."""
        ...

    def held(self) -> bool:
        """Whether the lock is still ours, checked now (False once the lock is lost)."""
        ...

    def release(self) -> None:
        """Give the lock up (idempotent; also after it was lost)."""
        ...


def leader_lock(url: str) -> LeaderLock:
    """The leader lock for the store at ``url``."""
    if is_sqlite(url):
        path = url.removeprefix("sqlite:///")
        if path in ("", ":memory:") or url == "sqlite://":
            return ProcessLeaderLock()
        return FileLeaderLock(Path(f"{path}.leader"))
    return PostgresLeaderLock(url)


class ProcessLeaderLock:
    """For an in-memory store, which no other process can share."""

    def __init__(self) -> None:
        self._held = False

    def try_acquire(self) -> bool:
        self._held = True
        return True

    def held(self) -> bool:
        return self._held

    def release(self) -> None:
        self._held = False


class FileLeaderLock:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    def try_acquire(self) -> bool:
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None


class PostgresLeaderLock:
    def __init__(self, url: str, *, key: int = LEADER_LOCK_KEY, check_timeout_s: int = 3) -> None:
        self.key = key
        self._engine: Engine = create_engine(
            url,
            poolclass=NullPool,
            connect_args={
                "connect_timeout": check_timeout_s,
                # A check never waits long on a server that went away.
                "options": f"-c statement_timeout={check_timeout_s * 1000}",
                "keepalives": 1,
                "keepalives_idle": 5,
                "keepalives_interval": 2,
                "keepalives_count": 3,
                # Unacknowledged writes (a check sent into a partition) fail this soon.
                "tcp_user_timeout": check_timeout_s * 1000,
                "application_name": "skybatch-leader-lock",
            },
        )
        self._conn: Connection | None = None
        self._held = False

    def try_acquire(self) -> bool:
        if self._held:
            return self.held()
        try:
            if self._conn is None:
                self._conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = self._conn.execute(
                text("SELECT pg_try_advisory_lock(:k)"), {"k": self.key}
            ).scalar_one()
        except DBAPIError as exc:
            log.warning("leader lock: cannot reach the database: %s", exc.orig)
            self._drop()
            return False
        self._held = bool(got)
        return self._held

    def held(self) -> bool:
        if not self._held or self._conn is None:
            return False
        try:
            # Same session, so the session-level lock is still ours; any error means
            # the session (and with it the lock) may be gone.
            self._conn.execute(text("SELECT 1")).scalar_one()
        except DBAPIError as exc:
            log.warning("leader lock: its connection failed: %s", exc.orig)
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None and self._held:
            # An error means the session is gone, and the lock with it.
            with contextlib.suppress(DBAPIError):
                self._conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.key})
        self._drop()

    def _drop(self) -> None:
        self._held = False
        if self._conn is not None:
            with contextlib.suppress(DBAPIError):
                self._conn.close()
            self._conn = None
