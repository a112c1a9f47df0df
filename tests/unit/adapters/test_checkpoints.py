"""LibcloudCheckpointStore over a real libcloud LocalStorageDriver in a temp directory."""

from __future__ import annotations

import json
import os
from datetime import UTC
from pathlib import Path

import pytest
from libcloud.storage.drivers.local import LocalStorageDriver

from adapters.base import CheckpointError, CheckpointStore
from adapters.checkpoints import (
    DEFAULT_CONTAINER,
    LibcloudCheckpointStore,
    checkpoint_store_from_uri,
)

JOB = "job-1"


@pytest.fixture
def objects(tmp_path: Path) -> Path:
    root = tmp_path / "objects"
    root.mkdir()
    return root


@pytest.fixture
def store(objects: Path) -> LibcloudCheckpointStore:
    driver = LocalStorageDriver(key=str(objects))
    driver.create_container(DEFAULT_CONTAINER)
    return LibcloudCheckpointStore(driver)


def seq_dir(objects: Path, seq: int, job: str = JOB) -> Path:
    return objects / DEFAULT_CONTAINER / job / f"{seq:010d}"


def write(root: Path, rel: str, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def make_checkpoint(store: LibcloudCheckpointStore, tmp_path: Path, seq: int) -> Path:
    src = tmp_path / f"src-{seq}"
    write(src, "state.json", json.dumps({"seq": seq}).encode())
    store.put(JOB, seq, src)
    return src


def test_is_a_checkpoint_store(store: LibcloudCheckpointStore) -> None:
    assert isinstance(store, CheckpointStore)


def test_roundtrip_nested_and_binary(store: LibcloudCheckpointStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "state.json", b'{"step": 3}')
    write(src, "a/b/c/weights.bin", bytes(range(256)) * 4096 + b"\x00\xff")
    write(src, "a/empty", b"")
    write(src, "with space/ünïcode.txt", "héllo".encode())

    info = store.put(JOB, 1, src)

    assert info.seq == 1
    assert info.job_id == JOB
    assert info.created_at.tzinfo is UTC
    assert set(info.files) == set(tree(src))
    assert info.size_bytes == sum(len(b) for b in tree(src).values())
    assert store.latest(JOB) == info

    dest = tmp_path / "dest"
    write(dest, "stale/file", b"from an earlier run")
    restored = store.restore(JOB, dest)
    assert restored == info
    assert tree(dest) == tree(src)


def test_manifest_lists_files_with_digests(
    store: LibcloudCheckpointStore, objects: Path, tmp_path: Path
) -> None:
    make_checkpoint(store, tmp_path, 1)
    manifest = json.loads((seq_dir(objects, 1) / "MANIFEST.json").read_text())
    assert manifest["job_id"] == JOB
    assert manifest["seq"] == 1
    assert manifest["created_at"].endswith("+00:00")
    [entry] = manifest["files"]
    assert entry["path"] == "state.json"
    assert len(entry["sha256"]) == 64
    assert manifest["total_size"] == entry["size"]
    assert (seq_dir(objects, 1) / "files" / "state.json").is_file()


def test_no_checkpoint(store: LibcloudCheckpointStore, tmp_path: Path) -> None:
    dest = tmp_path / "dest"
    write(dest, "leftover", b"x")
    assert store.latest(JOB) is None
    assert store.restore(JOB, dest) is None
    assert tree(dest) == {}


def test_checkpoint_without_manifest_is_invisible(
    store: LibcloudCheckpointStore, objects: Path, tmp_path: Path
) -> None:
    make_checkpoint(store, tmp_path, 1)
    make_checkpoint(store, tmp_path, 2)
    (seq_dir(objects, 2) / "MANIFEST.json").unlink()

    latest = store.latest(JOB)
    assert latest is not None
    assert latest.seq == 1
    dest = tmp_path / "dest"
    assert store.restore(JOB, dest) == latest
    assert json.loads((dest / "state.json").read_text()) == {"seq": 1}


def test_invalid_manifest_is_invisible(
    store: LibcloudCheckpointStore, objects: Path, tmp_path: Path
) -> None:
    make_checkpoint(store, tmp_path, 1)
    make_checkpoint(store, tmp_path, 2)
    (seq_dir(objects, 2) / "MANIFEST.json").write_text('{"job_id": "job-1", "se')
    latest = store.latest(JOB)
    assert latest is not None
    assert latest.seq == 1


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete"])
def test_corrupt_newest_falls_back(
    store: LibcloudCheckpointStore, objects: Path, tmp_path: Path, damage: str
) -> None:
    make_checkpoint(store, tmp_path, 1)
    make_checkpoint(store, tmp_path, 2)
    obj = seq_dir(objects, 2) / "files" / "state.json"
    data = obj.read_bytes()
    if damage == "flip":
        obj.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    elif damage == "truncate":
        obj.write_bytes(data[:-1])
    else:
        obj.unlink()

    dest = tmp_path / "dest"
    restored = store.restore(JOB, dest)
    assert restored is not None
    assert restored.seq == 1
    assert tree(dest) == {"state.json": json.dumps({"seq": 1}).encode()}


def test_all_corrupt_raises(store: LibcloudCheckpointStore, objects: Path, tmp_path: Path) -> None:
    make_checkpoint(store, tmp_path, 1)
    (seq_dir(objects, 1) / "files" / "state.json").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match="no intact checkpoint"):
        store.restore(JOB, tmp_path / "dest")


def test_seq_must_grow(store: LibcloudCheckpointStore, tmp_path: Path) -> None:
    src = make_checkpoint(store, tmp_path, 5)
    for seq in (5, 4, 0, -1):
        with pytest.raises(CheckpointError):
            store.put(JOB, seq, src)
    assert store.put(JOB, 6, src).seq == 6


def test_crashed_upload_of_same_seq_is_replaced(
    store: LibcloudCheckpointStore, objects: Path, tmp_path: Path
) -> None:
    make_checkpoint(store, tmp_path, 1)
    write(seq_dir(objects, 2) / "files", "partial.bin", b"half an upload")
    src = make_checkpoint(store, tmp_path, 2)
    dest = tmp_path / "dest"
    store.restore(JOB, dest)
    assert tree(dest) == tree(src)
    assert not (seq_dir(objects, 2) / "files" / "partial.bin").exists()


@pytest.mark.parametrize("keep", [1, 2, 3])
def test_keep_prunes_old_and_incomplete(objects: Path, tmp_path: Path, keep: int) -> None:
    driver = LocalStorageDriver(key=str(objects))
    driver.create_container(DEFAULT_CONTAINER)
    store = LibcloudCheckpointStore(driver, keep=keep)
    make_checkpoint(store, tmp_path, 1)
    make_checkpoint(store, tmp_path, 2)
    (seq_dir(objects, 2) / "MANIFEST.json").unlink()  # a crashed upload
    for seq in range(3, 8):
        make_checkpoint(store, tmp_path, seq)

    job_dir = objects / DEFAULT_CONTAINER / JOB
    remaining = sorted(int(p.name) for p in job_dir.iterdir())
    assert remaining == list(range(8 - keep, 8))
    latest = store.latest(JOB)
    assert latest is not None
    assert latest.seq == 7


def test_incomplete_newer_than_latest_is_kept(
    store: LibcloudCheckpointStore, objects: Path, tmp_path: Path
) -> None:
    make_checkpoint(store, tmp_path, 1)
    write(seq_dir(objects, 9) / "files", "in-flight", b"another writer")
    make_checkpoint(store, tmp_path, 2)
    assert (seq_dir(objects, 9) / "files" / "in-flight").exists()


def test_jobs_are_separate(store: LibcloudCheckpointStore, tmp_path: Path) -> None:
    src = tmp_path / "src"
    write(src, "x", b"1")
    store.put("job-1", 1, src)
    store.put("job-10", 3, src)
    latest = store.latest("job-1")
    assert latest is not None
    assert latest.seq == 1
    assert store.latest("job") is None


@pytest.mark.parametrize(
    "job_id", ["", "a/b", "..", "a..b", "../etc", "/abs", "a\\b", ".hidden", "a\nb", "x" * 300]
)
def test_bad_job_ids_refused(store: LibcloudCheckpointStore, tmp_path: Path, job_id: str) -> None:
    src = tmp_path / "src"
    write(src, "x", b"1")
    with pytest.raises(CheckpointError, match="invalid job id"):
        store.put(job_id, 1, src)
    with pytest.raises(CheckpointError, match="invalid job id"):
        store.latest(job_id)
    with pytest.raises(CheckpointError, match="invalid job id"):
        store.restore(job_id, tmp_path / "dest")


def test_symlinks_out_of_the_dir_are_not_followed(
    store: LibcloudCheckpointStore, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("not part of the checkpoint")
    outside_dir = tmp_path / "outside"
    write(outside_dir, "also-secret", b"no")
    src = tmp_path / "src"
    write(src, "real.txt", b"data")
    os.symlink(secret, src / "leak.txt")
    os.symlink(outside_dir, src / "leakdir")
    os.symlink(src / "real.txt", src / "alias.txt")
    os.symlink(tmp_path / "missing", src / "dangling")
    os.mkfifo(src / "fifo")

    info = store.put(JOB, 1, src)
    assert sorted(info.files) == ["alias.txt", "real.txt"]
    dest = tmp_path / "dest"
    store.restore(JOB, dest)
    assert tree(dest) == {"alias.txt": b"data", "real.txt": b"data"}


def test_missing_container_is_a_checkpoint_error(objects: Path, tmp_path: Path) -> None:
    store = LibcloudCheckpointStore(LocalStorageDriver(key=str(objects)), container="nope")
    with pytest.raises(CheckpointError, match="does not exist"):
        store.latest(JOB)
    src = tmp_path / "src"
    write(src, "x", b"1")
    with pytest.raises(CheckpointError):
        store.put(JOB, 1, src)


def test_put_of_missing_dir(store: LibcloudCheckpointStore, tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="not a directory"):
        store.put(JOB, 1, tmp_path / "nope")


def test_from_uri_creates_dir_and_container(tmp_path: Path) -> None:
    base = tmp_path / "a" / "b"
    store = checkpoint_store_from_uri(f"local://{base}")
    assert (base / DEFAULT_CONTAINER).is_dir()
    src = tmp_path / "src"
    write(src, "x", b"1")
    store.put(JOB, 1, src)
    # A second store over the same directory sees it.
    latest = checkpoint_store_from_uri(f"local://{base}").latest(JOB)
    assert latest is not None
    assert latest.seq == 1


@pytest.mark.parametrize("uri", ["gs://bucket/x", "local://host/dir", "local:relative", "/abs"])
def test_from_uri_rejects(uri: str) -> None:
    with pytest.raises(CheckpointError):
        checkpoint_store_from_uri(uri)
