"""The agent's side of checkpointing: restore at start, upload when the directory changed.

A change is detected by a fingerprint of the checkpoint directory (relative path,
size and mtime of every entry), so an idle job costs one directory walk per interval
and no uploads. The fingerprint is taken *before* an upload: if the job rewrites a
file during the upload, the next check sees a change and uploads again.

Sequence numbers only grow. A failed upload still consumes its number, so a put that
failed after its manifest landed (a lost response) cannot block every later one.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from adapters.base import CheckpointInfo, CheckpointStore

log = logging.getLogger(__name__)

Fingerprint = frozenset[tuple[str, int, int]]


def fingerprint(root: Path) -> Fingerprint:
    """(relpath, size, mtime_ns) of every file and symlink under ``root``."""
    entries: set[tuple[str, int, int]] = set()
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        for name in (*filenames, *dirnames):
            path = os.path.join(folder, name)
            try:
                st = os.lstat(path)
            except FileNotFoundError:
                continue
            entries.add((os.path.relpath(path, root), st.st_size, st.st_mtime_ns))
    return frozenset(entries)


class Checkpointer:
    """Uploads ``directory`` as the job's next checkpoint whenever it changed."""

    def __init__(self, store: CheckpointStore, job_id: str, directory: Path) -> None:
        self._store = store
        self._job_id = job_id
        self._directory = directory
        self._next_seq = 1
        self._last: Fingerprint | None = None

    @property
    def next_seq(self) -> int:
        return self._next_seq

    def restore(self) -> CheckpointInfo | None:
        """Fill the (cleared) directory with the newest complete checkpoint, if any.

        Raises :class:`~adapters.base.CheckpointError` when the store fails.
        """
        restored = self._store.restore(self._job_id, self._directory)
        latest = self._store.latest(self._job_id)
        self._next_seq = max(latest.seq if latest else 0, restored.seq if restored else 0) + 1
        # What was just restored is already in the store: no need to upload it again.
        self._last = fingerprint(self._directory)
        if restored is not None:
            log.info(
                "restored checkpoint seq %d (%d files, %d bytes); next seq %d",
                restored.seq,
                len(restored.files),
                restored.size_bytes,
                self._next_seq,
            )
        else:
            log.info("no checkpoint to restore; starting fresh")
        return restored

    def upload_if_changed(self) -> CheckpointInfo | None:
        """Upload the directory as the next seq if it changed; None if it did not.

        Raises :class:`~adapters.base.CheckpointError` when the upload fails.
        """
        current = fingerprint(self._directory)
        if current == self._last:
            return None
        seq = self._next_seq
        self._next_seq += 1
        info = self._store.put(self._job_id, seq, self._directory)
        self._last = current
        return info
