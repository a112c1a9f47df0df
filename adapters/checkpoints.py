"""Checkpoint store over any libcloud storage driver (local directory, S3, GCS, Azure Blob).

Layout inside one container, under an optional prefix (``s3://bucket/prefix``)::

    {job_id}/{seq:010d}/files/{relpath}     the job's checkpoint directory, file by file
    {job_id}/{seq:010d}/MANIFEST.json       written last: job_id, seq, created_at, files
                                            [{path, size, sha256}], total_size

A checkpoint is *complete* once its manifest exists; object stores have no rename, so
writing the manifest last is what makes a checkpoint appear atomically. Readers ignore
checkpoints without a (valid) manifest, and ``restore`` verifies the size and SHA-256
of every file against the manifest, falling back to the next older complete checkpoint
when the newest one is corrupt. Deletion removes the manifest first for the same reason.

Digests are computed over exactly the bytes streamed to the store, so a file rewritten
while it is being uploaded cannot produce a manifest that disagrees with the object.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import stat
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from libcloud.common.exceptions import BaseHTTPError
from libcloud.common.types import LibcloudError
from libcloud.storage.base import Container, Object, StorageDriver
from libcloud.storage.types import ContainerDoesNotExistError, ObjectDoesNotExistError

from adapters.base import CheckpointError, CheckpointInfo
from adapters.storage_uri import open_storage

__all__ = [
    "DEFAULT_CONTAINER",
    "LibcloudCheckpointStore",
    "checkpoint_store_from_uri",
    "validate_job_id",
]

log = logging.getLogger(__name__)

DEFAULT_CONTAINER = "skybatch-checkpoints"
_MANIFEST = "MANIFEST.json"
_FILES = "files"
_SEQ_DIGITS = 10
_CHUNK = 1 << 20
_MAX_MANIFEST_BYTES = 64 << 20
_JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@+=-]{0,199}")
_SHA256 = re.compile(r"[0-9a-f]{64}")
# What a driver raises for I/O problems: libcloud's own errors, HTTP errors, and
# OSError (which also covers the ``requests`` connection errors remote drivers raise).
_DRIVER_ERRORS = (LibcloudError, BaseHTTPError, OSError)
_PREFIX = re.compile(r"(?:[^/]+/)*")


class _CorruptCheckpoint(Exception):
    """A complete checkpoint whose objects disagree with its manifest."""


@dataclass(frozen=True)
class _FileEntry:
    path: str
    size: int
    sha256: str


@dataclass
class _Listing:
    """Objects of one job grouped by seq; ``complete`` are the seqs with a manifest."""

    objects: dict[int, list[Object]] = field(default_factory=dict)
    complete: set[int] = field(default_factory=set)


class _HashingReader:
    """Iterates over a file in chunks, hashing and counting what it yields."""

    def __init__(self, f: BinaryIO) -> None:
        self._f = f
        self.sha256 = hashlib.sha256()
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self._f.read(_CHUNK):
            self.sha256.update(chunk)
            self.size += len(chunk)
            yield chunk


@contextlib.contextmanager
def _io(what: str) -> Iterator[None]:
    """Turn driver and file-system failures into ``CheckpointError("cannot <what>: ...")``."""
    try:
        yield
    except ContainerDoesNotExistError as exc:
        raise CheckpointError(f"cannot {what}: the container does not exist") from exc
    except _DRIVER_ERRORS as exc:
        raise CheckpointError(f"cannot {what}: {exc}") from exc


def validate_job_id(job_id: str) -> str:
    """Return ``job_id`` if it is safe as an object-name component, else raise."""
    if not _JOB_ID.fullmatch(job_id) or ".." in job_id:
        raise CheckpointError(f"invalid job id {job_id!r}: use letters, digits and ._:@+=-")
    return job_id


def _validate_seq(seq: int) -> int:
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 < seq < 10**_SEQ_DIGITS:
        raise CheckpointError(f"invalid checkpoint seq {seq!r}: must be 1..{10**_SEQ_DIGITS - 1}")
    return seq


def _safe_relpath(path: object) -> str | None:
    """``path`` if it is a normalized relative POSIX path inside the checkpoint, else None."""
    if not isinstance(path, str) or not path or "\\" in path or "\x00" in path:
        return None
    parts = path.split("/")
    if any(part in ("", ".", "..") for part in parts):
        return None
    return path


class LibcloudCheckpointStore:
    """:class:`adapters.base.CheckpointStore` over a libcloud ``StorageDriver``.

    ``keep`` complete checkpoints are retained per job; older ones, and incomplete ones
    older than the newest complete one (crashed uploads), are deleted after each ``put``.
    Every object name starts with ``prefix`` (empty, or ending in ``/``). Every driver
    failure surfaces as :class:`CheckpointError`.
    """

    def __init__(
        self,
        driver: StorageDriver,
        container: str = DEFAULT_CONTAINER,
        keep: int = 3,
        *,
        prefix: str = "",
    ) -> None:
        if keep < 1:
            raise ValueError(f"keep must be >= 1, got {keep}")
        if not _PREFIX.fullmatch(prefix) or ".." in prefix.split("/"):
            raise ValueError(f"prefix must be empty or end in '/', got {prefix!r}")
        self._driver = driver
        self._container_name = container
        self._keep = keep
        self._prefix = prefix
        self._container: Container | None = None

    # -- the port -------------------------------------------------------------------

    def put(self, job_id: str, seq: int, local_dir: Path) -> CheckpointInfo:
        """Upload every regular file under ``local_dir`` as checkpoint ``seq``.

        Symlinks are followed only when they point at a regular file inside
        ``local_dir``; symlinked directories, special files and files that vanish while
        the checkpoint is taken are skipped. Raises :class:`CheckpointError` when
        ``seq`` is not greater than the newest complete checkpoint or an upload fails.
        """
        validate_job_id(job_id)
        _validate_seq(seq)
        root = Path(local_dir)
        if not root.is_dir():
            raise CheckpointError(f"checkpoint source {root} is not a directory")
        listing = self._list(job_id)
        newest = self._newest_valid(job_id, listing)
        if newest is not None and seq <= newest[1].seq:
            raise CheckpointError(
                f"checkpoint seq {seq} of job {job_id!r} must be greater than "
                f"the latest complete one ({newest[1].seq})"
            )
        # Leftovers of an earlier upload of this seq that crashed before its manifest.
        self._delete_seq(job_id, seq, listing.objects.pop(seq, []))
        listing.complete.discard(seq)

        with _io(f"read checkpoint source {root}"):
            entries = [
                entry
                for rel, path in _files_under(root)
                if (entry := self._upload_file(job_id, seq, rel, path)) is not None
            ]
        created_at = datetime.now(UTC)
        total = sum(e.size for e in entries)
        manifest = {
            "job_id": job_id,
            "seq": seq,
            "created_at": created_at.isoformat(),
            "files": [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in entries],
            "total_size": total,
        }
        body = json.dumps(manifest, indent=1, sort_keys=True).encode()
        self._upload_stream(iter([body]), self._name(job_id, seq, _MANIFEST), "application/json")
        info = CheckpointInfo(job_id, seq, total, tuple(e.path for e in entries), created_at)
        log.info("checkpoint %s/%d: %d files, %d bytes", job_id, seq, len(entries), total)

        listing.complete.add(seq)
        self._prune(job_id, seq, listing)
        return info

    def latest(self, job_id: str) -> CheckpointInfo | None:
        """The newest checkpoint of ``job_id`` with a valid manifest, or None."""
        validate_job_id(job_id)
        newest = self._newest_valid(job_id, self._list(job_id))
        return newest[1] if newest else None

    def restore(self, job_id: str, local_dir: Path) -> CheckpointInfo | None:
        """Replace the contents of ``local_dir`` with the newest intact checkpoint.

        Returns None (leaving ``local_dir`` empty) when the job has no complete
        checkpoint. A checkpoint whose files are missing or fail the size/digest check
        is skipped for the next older one; when every complete checkpoint is corrupt,
        or the driver fails, raises :class:`CheckpointError`.
        """
        validate_job_id(job_id)
        root = Path(local_dir)
        listing = self._list(job_id)
        problems: list[str] = []
        for seq in sorted(listing.complete, reverse=True):
            parsed = self._read_manifest(job_id, seq)
            if parsed is None:
                continue
            entries, info = parsed
            _clear_dir(root)
            try:
                for entry in entries:
                    self._download_file(job_id, seq, entry, root)
            except _CorruptCheckpoint as exc:
                log.warning(
                    "checkpoint %s/%d is corrupt (%s); trying an older one", job_id, seq, exc
                )
                problems.append(f"seq {seq}: {exc}")
                continue
            log.info("restored checkpoint %s/%d (%d bytes)", job_id, seq, info.size_bytes)
            return info
        _clear_dir(root)
        if problems:
            raise CheckpointError(
                f"no intact checkpoint for job {job_id!r}: " + "; ".join(problems)
            )
        return None

    # -- listing and manifests --------------------------------------------------------

    def _get_container(self) -> Container:
        if self._container is None:
            with _io(f"open checkpoint container {self._container_name!r}"):
                self._container = self._driver.get_container(self._container_name)
        return self._container

    def _name(self, job_id: str, seq: int, rest: str) -> str:
        return f"{self._prefix}{job_id}/{seq:0{_SEQ_DIGITS}d}/{rest}"

    def _list(self, job_id: str) -> _Listing:
        container = self._get_container()
        prefix = f"{self._prefix}{job_id}/"
        listing = _Listing()
        with _io(f"list checkpoints of job {job_id!r}"), warnings.catch_warnings():
            # Drivers without server-side prefixes (the local one) filter client-side
            # and warn about it on every call; that is expected here.
            warnings.filterwarnings("ignore", "Driver .* native object filtering", UserWarning)
            objects = list(self._driver.iterate_container_objects(container, prefix=prefix))
        for obj in objects:
            name: str = obj.name
            if not name.startswith(prefix):  # a driver that ignores the prefix
                continue
            parts = name[len(self._prefix) :].split("/", 2)
            if len(parts) != 3 or parts[0] != job_id or not _is_seq(parts[1]):
                continue
            seq = int(parts[1])
            listing.objects.setdefault(seq, []).append(obj)
            if parts[2] == _MANIFEST:
                listing.complete.add(seq)
        return listing

    def _newest_valid(
        self, job_id: str, listing: _Listing
    ) -> tuple[list[_FileEntry], CheckpointInfo] | None:
        for seq in sorted(listing.complete, reverse=True):
            parsed = self._read_manifest(job_id, seq)
            if parsed is not None:
                return parsed
        return None

    def _read_manifest(
        self, job_id: str, seq: int
    ) -> tuple[list[_FileEntry], CheckpointInfo] | None:
        """The parsed manifest, or None when it is missing or malformed."""
        name = self._name(job_id, seq, _MANIFEST)
        chunks: list[bytes] = []
        size = 0
        with _io(f"read manifest {name!r}"):
            try:
                obj = self._driver.get_object(self._container_name, name)
            except ObjectDoesNotExistError:  # deleted since it was listed
                return None
            for chunk in self._driver.download_object_as_stream(obj, chunk_size=_CHUNK):
                size += len(chunk)
                if size > _MAX_MANIFEST_BYTES:
                    log.warning("manifest %s is larger than %d bytes", name, _MAX_MANIFEST_BYTES)
                    return None
                chunks.append(chunk)
        try:
            return _parse_manifest(json.loads(b"".join(chunks)), job_id, seq)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("ignoring checkpoint %s/%d: invalid manifest (%s)", job_id, seq, exc)
            return None

    # -- object transfer ---------------------------------------------------------------

    def _upload_stream(self, chunks: Iterator[bytes], name: str, content_type: str) -> None:
        container = self._get_container()
        with _io(f"upload checkpoint object {name!r}"):
            extra = {"content_type": content_type}
            self._driver.upload_object_via_stream(chunks, container, name, extra=extra)

    def _upload_file(self, job_id: str, seq: int, rel: str, path: Path) -> _FileEntry | None:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # never block on a FIFO
        except FileNotFoundError:
            log.debug("skipping %s: vanished before upload", path)
            return None
        with os.fdopen(fd, "rb") as f:
            if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                return None
            reader = _HashingReader(f)
            name = self._name(job_id, seq, f"{_FILES}/{rel}")
            self._upload_stream(iter(reader), name, "application/octet-stream")
        return _FileEntry(rel, reader.size, reader.sha256.hexdigest())

    def _download_file(self, job_id: str, seq: int, entry: _FileEntry, root: Path) -> None:
        name = self._name(job_id, seq, f"{_FILES}/{entry.path}")
        dest = root.joinpath(*entry.path.split("/"))
        digest = hashlib.sha256()
        size = 0
        with _io(f"download checkpoint object {name!r}"):
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                obj = self._driver.get_object(self._container_name, name)
            except ObjectDoesNotExistError as exc:
                raise _CorruptCheckpoint(f"object {name!r} is missing") from exc
            with dest.open("wb") as f:
                for chunk in self._driver.download_object_as_stream(obj, chunk_size=_CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
                    if size > entry.size:
                        break
                    f.write(chunk)
        if size != entry.size:
            raise _CorruptCheckpoint(f"{entry.path}: size {size}, manifest says {entry.size}")
        if digest.hexdigest() != entry.sha256:
            raise _CorruptCheckpoint(f"{entry.path}: sha256 does not match the manifest")

    # -- retention ---------------------------------------------------------------------

    def _prune(self, job_id: str, newest_complete: int, listing: _Listing) -> None:
        """Drop complete checkpoints beyond ``keep`` and crashed uploads below the newest.

        The new checkpoint is already written, so failures here are logged, not raised.
        """
        # Manifests above the new checkpoint failed validation when ``put`` listed them;
        # they are left alone rather than allowed to push valid checkpoints out.
        complete = sorted((s for s in listing.complete if s <= newest_complete), reverse=True)
        doomed = set(complete[self._keep :])
        doomed |= {s for s in listing.objects if s not in listing.complete and s < newest_complete}
        for seq in sorted(doomed):
            try:
                self._delete_seq(job_id, seq, listing.objects.get(seq, []))
            except CheckpointError as exc:
                log.warning("could not prune checkpoint %s/%d: %s", job_id, seq, exc)

    def _delete_seq(self, job_id: str, seq: int, objects: list[Object]) -> None:
        # Manifest first: a half-deleted checkpoint must look incomplete, not corrupt.
        ordered = sorted(objects, key=lambda o: not str(o.name).endswith(f"/{_MANIFEST}"))
        for obj in ordered:
            with (
                _io(f"delete checkpoint object {obj.name!r}"),
                contextlib.suppress(ObjectDoesNotExistError),
            ):
                self._driver.delete_object(obj)


def checkpoint_store_from_uri(
    uri: str, *, environ: Mapping[str, str] | None = None
) -> LibcloudCheckpointStore:
    """A checkpoint store for ``uri``: ``local:///abs/dir`` (a directory, created with
    the default container if missing) or ``s3://bucket/prefix`` (credentials from
    ``environ``, by default the process environment); see :mod:`adapters.storage_uri`."""
    where = open_storage(uri, local_container=DEFAULT_CONTAINER, environ=environ)
    return LibcloudCheckpointStore(where.driver, where.container, prefix=where.prefix)


# -- helpers -------------------------------------------------------------------------------


def _is_seq(part: str) -> bool:
    return len(part) == _SEQ_DIGITS and part.isascii() and part.isdigit()


def _parse_manifest(raw: Any, job_id: str, seq: int) -> tuple[list[_FileEntry], CheckpointInfo]:
    if not isinstance(raw, dict):
        raise TypeError("manifest is not a JSON object")
    if raw["job_id"] != job_id or raw["seq"] != seq:
        raise ValueError(f"manifest is for {raw['job_id']!r}/{raw['seq']!r}")
    created_at = datetime.fromisoformat(raw["created_at"])
    if created_at.tzinfo is None:
        raise ValueError("created_at has no time zone")
    entries: list[_FileEntry] = []
    for item in raw["files"]:
        path = _safe_relpath(item["path"])
        size, digest = item["size"], item["sha256"]
        if path is None:
            raise ValueError(f"unsafe path {item['path']!r}")
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"bad size for {path!r}")
        if not isinstance(digest, str) or not _SHA256.fullmatch(digest):
            raise ValueError(f"bad sha256 for {path!r}")
        entries.append(_FileEntry(path, size, digest))
    if len({e.path for e in entries}) != len(entries):
        raise ValueError("duplicate paths")
    info = CheckpointInfo(
        job_id=job_id,
        seq=seq,
        size_bytes=sum(e.size for e in entries),
        files=tuple(e.path for e in entries),
        created_at=created_at.astimezone(UTC),
    )
    return entries, info


def _files_under(root: Path) -> Iterator[tuple[str, Path]]:
    """(relative POSIX path, path to read) of the files to checkpoint, sorted."""
    resolved_root = root.resolve()
    found: list[tuple[str, Path]] = []
    for folder, dirnames, filenames in os.walk(root, followlinks=False):
        dirnames.sort()
        for name in filenames:
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            if _safe_relpath(rel) is None or not _is_utf8(rel):
                log.warning("skipping %s: its name cannot be stored in a manifest", path)
                continue
            try:
                st = path.lstat()
            except FileNotFoundError:
                continue
            if stat.S_ISLNK(st.st_mode):
                target = path.resolve()
                if not target.is_relative_to(resolved_root) or not target.is_file():
                    log.warning("skipping symlink %s: it points outside the checkpoint", path)
                    continue
                found.append((rel, target))
            elif stat.S_ISREG(st.st_mode):
                found.append((rel, path))
    found.sort()
    return iter(found)


def _is_utf8(name: str) -> bool:
    try:
        name.encode("utf-8")
    except UnicodeEncodeError:  # undecodable bytes in a file name (surrogate escapes)
        return False
    return True


def _clear_dir(root: Path) -> None:
    """Make ``root`` an empty directory without following symlinks inside it."""
    with _io(f"clear restore directory {root}"):
        root.mkdir(parents=True, exist_ok=True)
        for child in root.iterdir():
            if child.is_dir() and not child.is_symlink():
                shutil.rmtree(child)
            else:
                child.unlink()
