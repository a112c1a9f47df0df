"""Process groups as the local cloud's virtual machines (Linux).

A node is a process group in a session of its own, so it outlives the driver that
started it (a SIGKILLed scheduler must not take its nodes down) and can be signalled
as a whole. Groups are identified by ``(pgid, start time)``, the start time being
field 22 of ``/proc/<pid>/stat``: a driver that did not spawn a node can still tell
its leader apart from an unrelated process that later got the same pid.

Children are kept in a module-wide registry rather than per driver because child
processes belong to the OS process, not to a driver object: a driver may be dropped
while its nodes run on, and a dropped ``Popen`` of a running child warns and leaves
a zombie. Whoever calls :func:`reap_children` collects them.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

_children: dict[int, subprocess.Popen[bytes]] = {}
_children_lock = threading.Lock()


@dataclass(frozen=True)
class ProcStat:
    """The few ``/proc/<pid>/stat`` fields we need."""

    state: str
    pgrp: int
    start_time: int

    @property
    def zombie(self) -> bool:
        # A zombie (or dead) task has exited; it only waits for its parent to reap it.
        return self.state in ("Z", "X")


def proc_stat(pid: int) -> ProcStat | None:
    """``/proc/<pid>/stat`` of a process, or None when there is none."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    # The command name (field 2) may contain spaces and parentheses; it ends at the
    # last ")". Fields after it start at field 3 (state).
    fields = raw[raw.rindex(")") + 2 :].split()
    return ProcStat(state=fields[0], pgrp=int(fields[2]), start_time=int(fields[19]))


def proc_start_time(pid: int) -> int | None:
    """Start time of ``pid`` in clock ticks since boot, or None when it is gone."""
    stat = proc_stat(pid)
    return stat.start_time if stat else None


def _leader_reused(pgid: int, start_time: int | None) -> bool:
    """True when pid ``pgid`` now names another process than the recorded leader.

    Linux does not hand out a pid while a process group of that id exists, so a
    different process under the leader's pid means the original group is gone.
    """
    stat = proc_stat(pgid)
    return stat is not None and start_time is not None and stat.start_time != start_time


def group_alive(pgid: int, start_time: int | None) -> bool:
    """Whether the node's process group still has a live (non-zombie) member."""
    if _leader_reused(pgid, start_time):
        return False
    leader = proc_stat(pgid)
    if leader is not None and not leader.zombie and leader.pgrp == pgid:
        return True
    # The leader exited but its children may run on in the group.
    return any(
        stat is not None and stat.pgrp == pgid and not stat.zombie
        for stat in map(proc_stat, _pids())
    )


def _pids() -> list[int]:
    with os.scandir("/proc") as entries:
        return [int(e.name) for e in entries if e.name.isdigit()]


def signal_group(pgid: int, start_time: int | None, sig: int) -> bool:
    """Send ``sig`` to the group unless it is gone or its pid was reused.

    Returns whether a signal was delivered.
    """
    if _leader_reused(pgid, start_time):
        return False
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def spawn_session(
    argv: list[str], *, cwd: Path, env: Mapping[str, str], log_path: Path
) -> tuple[int, int | None]:
    """Start ``argv`` as the leader of a new session; returns ``(pid, start_time)``.

    stdout and stderr append to ``log_path``; stdin is /dev/null.
    """
    with log_path.open("ab") as log_file:
        child = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            # Never let a node inherit the state dir's flock descriptor: it would hold
            # the local cloud's lock for as long as it runs.
            close_fds=True,
        )
    with _children_lock:
        _children[child.pid] = child
    # The child exists once fork returned, so its /proc entry is already there.
    return child.pid, proc_start_time(child.pid)


def reap_children() -> None:
    """Collect the exit status of spawned nodes that have exited (no zombies)."""
    with _children_lock:
        done = [pid for pid, child in _children.items() if child.poll() is not None]
        for pid in done:
            del _children[pid]


def find_by_env(key: str, value: str) -> list[int]:
    """Pids of our user's processes whose environment has ``key=value``.

    Used to find a node whose launcher died between spawning it and recording its pid.
    """
    needle = f"{key}={value}".encode()
    found: list[int] = []
    for pid in _pids():
        try:
            environ = Path(f"/proc/{pid}/environ").read_bytes()
        except OSError:  # gone, or another user's process
            continue
        if needle in environ.split(b"\0"):
            found.append(pid)
    return found
