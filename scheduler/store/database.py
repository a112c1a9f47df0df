"""The database handle: engine, read/write sessions, and a wake-up bus for watchers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlmodel import Session

from scheduler.store.engine import WRITE_OPTION, make_engine


class EventBus:
    """Wakes ``WatchJobs`` streams when new event rows were committed in this process."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0

    def notify(self) -> None:
        with self._cond:
            self._generation += 1
            self._cond.notify_all()

    def generation(self) -> int:
        with self._cond:
            return self._generation

    def wait(self, seen: int, timeout: float) -> int:
        """Block until the generation moves past ``seen`` or ``timeout`` passes."""
        with self._cond:
            self._cond.wait_for(lambda: self._generation != seen, timeout=timeout)
            return self._generation


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        self._writer = self.engine.execution_options(**{WRITE_OPTION: True})
        self.bus = EventBus()

    @contextmanager
    def read(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A write transaction: committed on success (then watchers are woken)."""
        with Session(self._writer, expire_on_commit=False) as session, session.begin():
            yield session
        self.bus.notify()

    def close(self) -> None:
        self.engine.dispose()
