"""Durable state of the local cloud: one JSON record per node under a state dir.

The state dir is the local cloud's control plane. Any number of drivers (in one or
several OS processes, before and after a crash) over the same directory see the
same nodes. Layout::

    <state_dir>/.lock                   flock taken around every read-modify-write
    <state_dir>/spot-launches           how many spot nodes were ever launched
    <state_dir>/nodes/<node_id>/node.json
    <state_dir>/nodes/<node_id>/user-data.sh, console.log, ...  (the node's "disk")

Every write is atomic (temp file, fsync, rename, fsync of the directory), so a
reader never sees half a record and a crash keeps either the old or the new one.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import asdict, dataclass, fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

PENDING = "pending"
RUNNING = "running"
TERMINATED = "terminated"

_DATETIME_FIELDS = (
    "created_at",
    "started_at",
    "preempt_at",
    "reclaim_at",
    "kill_after",
    "terminated_at",
)


@dataclass(frozen=True)
class NodeRecord:
    """Everything the local cloud knows about one node. Times are UTC."""

    node_id: str
    name: str
    client_token: str
    region: str
    zone: str
    instance_type: str
    market: str
    vcpus: float
    memory_gib: float
    price_per_hour: Decimal
    tags: Mapping[str, str]
    status: str
    created_at: datetime
    #: The OS process that is launching the node, to recover launches it abandoned.
    launcher_pid: int
    launcher_start_time: int | None
    spot_seq: int | None = None
    preempt_after_s: float | None = None
    started_at: datetime | None = None
    pid: int | None = None
    pid_start_time: int | None = None
    #: When the preemption notice is due (spot only).
    preempt_at: datetime | None = None
    #: When a noticed spot node is reclaimed (SIGKILL, TERMINATED, preempted).
    reclaim_at: datetime | None = None
    #: When a terminated node's group gets SIGKILL if SIGTERM did not end it.
    kill_after: datetime | None = None
    terminated_at: datetime | None = None
    preempted: bool = False
    #: True once a terminated node's process group is known to be gone.
    reaped: bool = False
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["price_per_hour"] = str(self.price_per_hour)
        for name in _DATETIME_FIELDS:
            value = data[name]
            data[name] = value.isoformat() if value is not None else None
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NodeRecord:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["price_per_hour"] = Decimal(values["price_per_hour"])
        for name in _DATETIME_FIELDS:
            if values.get(name) is not None:
                values[name] = datetime.fromisoformat(values[name])
        return cls(**values)


class StateDir:
    """The files of one local cloud. Mutations go inside :meth:`locked`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.nodes_dir = root / "nodes"
        self.nodes_dir.mkdir(parents=True, exist_ok=True)
        self._lock_path = root / ".lock"
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._lock_fd: int | None = None

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive access across threads and processes (re-entrant per thread)."""
        with self._thread_lock:
            # flock conflicts between two descriptors of one process too, so only the
            # outermost holder takes it.
            if self._depth == 0:
                fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT, 0o644)
                fcntl.flock(fd, fcntl.LOCK_EX)
                self._lock_fd = fd
            self._depth += 1
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0 and self._lock_fd is not None:
                    os.close(self._lock_fd)  # closing releases the flock
                    self._lock_fd = None

    def node_dir(self, node_id: str) -> Path:
        return self.nodes_dir / node_id

    def read(self, node_id: str) -> NodeRecord | None:
        path = self.node_dir(node_id) / "node.json"
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        return NodeRecord.from_json(json.loads(text))

    def read_all(self) -> list[NodeRecord]:
        """All node records, oldest first. Unreadable records are logged and skipped."""
        records: list[NodeRecord] = []
        for entry in sorted(self.nodes_dir.iterdir()):
            try:
                record = self.read(entry.name)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("ignoring unreadable node record %s: %s", entry, exc)
                continue
            if record is not None:
                records.append(record)
        records.sort(key=lambda r: (r.created_at, r.node_id))
        return records

    def write(self, record: NodeRecord) -> None:
        node_dir = self.node_dir(record.node_id)
        node_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(node_dir / "node.json", json.dumps(record.to_json(), indent=2) + "\n")

    def next_spot_seq(self) -> int:
        """Count one more spot launch and return its 1-based number. Call under lock."""
        path = self.root / "spot-launches"
        try:
            current = int(path.read_text(encoding="utf-8").strip() or "0")
        except FileNotFoundError:
            current = 0
        atomic_write(path, f"{current + 1}\n")
        return current + 1


def atomic_write(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` so that readers see the old or the new file."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    # The rename itself is durable only once the directory entry is on disk.
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
